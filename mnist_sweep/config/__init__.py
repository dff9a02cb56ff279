"""The config layer: ranges, section schemas, sweeper keys, validated Settings, search-space checks."""
