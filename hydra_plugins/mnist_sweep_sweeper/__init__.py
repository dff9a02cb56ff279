"""The project's Optuna sweeper: hydra-optuna-sweeper, subclassed (not forked)."""
