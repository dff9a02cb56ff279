"""errors.redact, the one redaction point: a property over user names, passwords and hosts drawn
from a wide alphabet (the password never shows, the rest of the URL stays as written), and the
unusual URLs that leaked before."""
from __future__ import annotations

import os
import re
from urllib.parse import quote

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from mnist_sweep.errors import redact
from mnist_sweep.storage import check_no_clear_password, has_clear_password, without_password

SCHEMES = st.sampled_from(["postgresql", "postgresql+psycopg2", "mysql+pymysql", "redis", "mongodb", "mssql+pyodbc",
                           "https", "amqp"])
WIDE = st.characters(exclude_categories=("Cc", "Cs"))  # any printable character, spaces of every kind included
USER = st.text(st.characters(exclude_categories=("Cc", "Cs", "Z"), exclude_characters=":/'\"="), max_size=12)
LABEL = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,10}[A-Za-z0-9])?", fullmatch=True)
HOST = st.builds(lambda labels, port: ".".join(labels) + port, st.lists(LABEL, min_size=1, max_size=3),
                 st.sampled_from(["", ":5432", ":6379", ":1"]))
TAIL = st.sampled_from(["/x", "/optuna", "/db?sslmode=require", "/0", "/my-db?application_name=sweep&connect_timeout=5",
                        ""])
CONTEXT = st.sampled_from(["{}", "'{}'", "cannot open '{}' (OperationalError)", "--storage {}: cannot open",
                           "storage {} unreachable: timeout", '"{}"'])


def ambiguous(scheme: str, user: str, password: str, tail: str = "/x", context: str = "{}") -> bool:
    """Passwords no reader can tell from the URL around them (each masked as far as it reads):
    a raw '@' together with '/', '?' or '#' (SQLAlchemy ends a password at its first '@', URL
    parsers the host at the first '/'), and ones that begin as prose after a 'name:' does (a
    space) or as a port followed by prose or a path ('21, then', '8080/dashboard (me', an http
    URL's '8080 started', another's '5432 by me@host' where no path or quote follows the host
    and the line holds more than the URL); with a user that holds an '@' (Azure's me@server),
    one with a space."""
    prose_after = not tail and context != "{}" and not re.search(r"\{\}['\"]", context)
    return bool(("@" in user and any(c.isspace() for c in password)) or ("@" in password and set("/?#") & set(password)) or password[0].isspace()
                or re.match(r"\d{1,5}(?:[,;)]|[/?#]\S*?[?#]|[/?#].*\s)", password)
                or ((scheme == "https" or prose_after) and re.match(r"\d{1,5}\s", password)))


@settings(max_examples=int(os.environ.get('REDACT_EXAMPLES', 400)), deadline=None)
@given(scheme=SCHEMES, user=USER, password=st.text(WIDE, min_size=1, max_size=16), host=HOST, tail=TAIL,
       context=CONTEXT, encoded=st.booleans())
@example(scheme="postgresql", user="me", password="12 monkeys", host="db", tail="/x", context="{}", encoded=False)
@example(scheme="postgresql", user="me@server", password="pw", host="server.postgres.database.azure.com",
         tail="/db", context="{}", encoded=False)
@example(scheme="postgresql", user="me", password="a b/c", host="db", tail="/x", context="'{}'", encoded=False)
@example(scheme="postgresql", user="me", password="a@b c", host="db", tail="/x", context="{}", encoded=False)
@example(scheme="postgresql", user="me", password="12 monkeys", host="db", tail="", context="{}", encoded=False)
@example(scheme="redis", user="", password="6379 x", host="db", tail="", context="'{}'", encoded=False)
def test_a_userinfo_password_never_shows_and_the_rest_reads_as_written(scheme, user, password, host, tail, context,
                                                                       encoded):
    secret = quote(password, safe="") if encoded else password
    assume(encoded or not ambiguous(scheme, user, password, tail, context))
    url = f"{scheme}://{user}:{secret}@{host}{tail}"
    want = context.format(f"{scheme}://{user}:***@{host}{tail}")
    assert redact(context.format(url)) == want
    assert redact(want) == want  # masked once is masked: a line redacted twice reads the same


@settings(max_examples=200, deadline=None)
@given(password=st.text(st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="&"), min_size=1, max_size=16),
       key=st.sampled_from(["password", "PASSWORD", "sslpassword", "pwd", "token"]), encoded=st.booleans(),
       context=CONTEXT, quoted=st.sampled_from(["", '"', "'"]), last=st.booleans())
@example(password="ab'cd", key="password", encoded=False, context="{}", quoted="", last=False)
@example(password="a b", key="password", encoded=False, context="'{}'", quoted='"', last=True)
@example(password="ab#c'", key="password", encoded=False, context="cannot open '{}' (OperationalError)",
         quoted="", last=True)
def test_a_query_string_password_never_shows(password, key, encoded, context, quoted, last):
    """The value runs to the next '&' (or the URL's end): a quote, '#' or a quoted space in it
    showed the rest ('password=***'cd', 'password=***"b c"'). One that closes a quoted URL is shown."""
    assume(not (last and "{}:" in context))  # '...?password=pw: cannot' (the ':' could be the password's)
    value = f"{quoted}{password.replace(quoted, '')}{quoted}" if quoted else "".join(password.split()) or "x"
    secret = quote(value, safe="") if encoded else value
    rest = "" if last else "&connect_timeout=5"
    url = f"postgresql://me@db/x?sslmode=require&{key}={secret}{rest}"
    assert redact(context.format(url)) == context.format(f"postgresql://me@db/x?sslmode=require&{key}=***{rest}")


@pytest.mark.parametrize("url, masked", [
    ("postgresql://me:12 monkeys@db/x", "postgresql://me:***@db/x"),
    ("postgresql://me@srv:hunter2@srv.postgres.database.azure.com/db",  # Azure's user@server user names
     "postgresql://me@srv:***@srv.postgres.database.azure.com/db"),
    ("cannot open 'postgresql://me:a/b c@db/x'", "cannot open 'postgresql://me:***@db/x'"),
    ("storage=x_postgresql://me:hunter2@db/x", "storage=x_postgresql://me:***@db/x"),
    ("mssql+pyodbc://@dsn?odbc_connect=DRIVER%3D%7BODBC%7D%3BUID%3Dme%3BPWD%3Dhunter2%3BEncrypt%3Dyes",
     "mssql+pyodbc://@dsn?odbc_connect=DRIVER%3D%7BODBC%7D%3BUID%3Dme%3BPWD%3D***%3BEncrypt%3Dyes"),
    ("postgresql://me@db/x?password=a,b;c)d&sslmode=require", "postgresql://me@db/x?password=***&sslmode=require"),
    ("mssql+pyodbc://@dsn?odbc_connect=" + quote("UID=me;PWD={hunter2;x};Encrypt=yes", safe=""),  # ODBC's braces
     "mssql+pyodbc://@dsn?odbc_connect=UID%3Dme%3BPWD%3D***%3BEncrypt%3Dyes"),
    ("DRIVER={ODBC 18};UID=me;PWD={hunter2;x};Encrypt=yes", "DRIVER={ODBC 18};UID=me;PWD=***;Encrypt=yes"),
    ("UID=me;PWD={a}}b;c};Encrypt=yes", "UID=me;PWD=***;Encrypt=yes"),  # ODBC's '}}' is a '}' in the value
    ("mssql+pyodbc://@dsn?odbc_connect=" + quote("UID=me;PWD={a}}b;c};Encrypt=yes", safe=""),
     "mssql+pyodbc://@dsn?odbc_connect=UID%3Dme%3BPWD%3D***%3BEncrypt%3Dyes"),
    ("host=db password=ab'cd user=me", "host=db password=*** user=me"),  # libpq reads ab'cd, 'it\'s'
    ("host=db password='it\\'s' user=me", "host=db password=*** user=me"),
    ("cannot open 'host=db password=hunter2' (E)", "cannot open 'host=db password=***' (E)"),
])
def test_unusual_urls_that_leaked_are_masked(url, masked):
    assert redact(url) == masked
    assert has_clear_password(url)


@pytest.mark.parametrize("url", ["postgresql://me@db:5432/x?application_name=me@laptop",
                                 "postgresql://me@db:5432/x", "postgresql://db:5432/x?sslmode=require",
                                 "redis://cache:6379/0", "sqlite:////abs/dir:with colon/optuna.db",
                                 "postgresql://[::1]:5432/x?application_name=me@laptop",
                                 "postgresql://me@[fe80::1%25eth0]:5432/x?application_name=me@laptop"])
def test_a_url_without_a_password_is_not_refused(url):
    assert redact(url) == url
    check_no_clear_password(url)


@pytest.mark.parametrize("line", ["connected to postgresql://host:5432 me@x", "postgresql://host:5432 me@x and more",
                                  "redis://cache:6379 (owner bob@host)", "up: postgresql://db:5432 by me@x\nnext line"])
def test_a_port_then_prose_with_an_at_sign_is_no_password(line):
    """A port, a space and text with an '@' after a URL on its line were read as a password
    ('connected to postgresql://host:***@x'). It is one where the rest of a URL follows the '@'
    and host (a path, query or closing quote), or where the URL is all its line holds: alone,
    'postgresql://host:5432 me@x' reads as 'postgresql://me:12 monkeys@host' does."""
    assert redact(line) == line
    for url in ["postgresql://me:12 monkeys@host/db", "'postgresql://me:12 monkeys@host' (E)", "postgresql://me:12 monkeys@host",
                "x\n  postgresql://me:12 monkeys@host  \ny", "postgresql://host:5432 me@x"]:
        assert "***" in redact(url) and "12" not in redact(url) and "5432" not in redact(url), url


@pytest.mark.parametrize("line", ["postgresql://[::1]:5432/x (user me@host)",
                                  "Dashboard at http://[::1]:8080/ by bob@host",
                                  "https://[2001:db8::1]:8443/path (owner: me@x)",
                                  "postgresql://[fe80::1%eth0]:5432/x me@h"])
def test_an_ipv6_host_is_no_user_name(line):
    """The ':' inside an IPv6 host's brackets began no password: the rest of the line to the next
    '@' was masked ('postgresql://[:***@host)')."""
    assert redact(line) == line
    assert redact("postgresql://me:pw@[::1]:5432/x me@h") == "postgresql://me:***@[::1]:5432/x me@h"


@pytest.mark.parametrize("secret", ["hunter2", "{hunter2;x}", "{a}}hunter2;x}"])
def test_a_password_inside_odbc_connect_is_not_recorded(secret):
    """storage.json keeps a URL without its password; one inside odbc_connect's connection string
    (SQLAlchemy's way to pass an ODBC one) was written there as it was."""
    url = "mssql+pyodbc://@dsn?odbc_connect=" + quote(f"DRIVER={{ODBC 18}};UID=me;PWD={secret};Encrypt=yes", safe="")
    kept = without_password(url)
    assert "hunter2" not in kept and not has_clear_password(kept), kept
    assert "UID%3Dme%3BEncrypt%3Dyes" in kept and without_password(kept) == kept


@pytest.mark.parametrize("unit, end", [("x:/", ""), ("a://b:", ""), ("ab://c:d/", ""), ("postgresql://db:5432/x,", ""),
                                       ("@x://a:1/", ""), ("x://a:1/", "?@"), ("x://a:b/", " @"), ("x:/a:b ", "\n@"),
                                       (";pwd={", ""), ("%3Bpwd%3D%7B", "")])
def test_a_long_line_is_redacted_in_linear_time(unit, end):
    """A long log or error line of many 'scheme:/name:' heads took quadratic time (20,000 characters
    of 'x:/': seconds; 100,000: minutes): without an '@', and with one where each head read its
    password to the line's end or the next '?' ('@x://a:1/' over and over, 'x://a:b/'... then ' @').
    So did many braced values never closed (ODBC's ';pwd={', in odbc_connect '%3Bpwd%3D%7B')."""
    import time

    line = (unit * (20_000 // len(unit) + 1))[: 20_000 - len(end)] + end
    start = time.perf_counter()
    masked = redact(line)
    assert time.perf_counter() - start < 1.0
    assert masked == line or "@" in line or "=" in line or "%3D" in line


@pytest.mark.parametrize("password", ["p@ss:w/rd%x#1?&", "a@b/c", "p@s?x", "p@s#x", "a@b=c/d", "x@y@z/w"])
def test_a_bare_at_then_a_slash_query_or_hash_in_a_password_shows_none_of_it(password):
    """A password written out with '@' and then '/', '?' or '#' (postgresql://sp:a@b/c@db/x) was masked to its
    first '@' as SQLAlchemy reads it, 'b/c' printed in every line; it is masked whole, refused before
    connecting (the driver named its rest as the host), and the URL to give without it holds none of it."""
    from mnist_sweep.errors import StorageError
    from mnist_sweep.storage import check_userinfo

    url = f"postgresql://sp:{password}@127.0.0.1:5432/db?application_name=me@laptop"
    masked = "postgresql://sp:***@127.0.0.1:5432/db?application_name=me@laptop"
    assert redact(url) == masked and redact(f"cannot open '{url}' (E)") == f"cannot open '{masked}' (E)"
    assert without_password(url) == "postgresql://sp@127.0.0.1:5432/db?application_name=me@laptop"
    with pytest.raises(StorageError, match="more than one '@' before the host") as e:
        check_userinfo(url)
    assert str(e.value).startswith(masked)
    check_userinfo("postgresql://me@srv:pw@srv.postgres.database.azure.com/db?application_name=me@x")  # Azure's user
