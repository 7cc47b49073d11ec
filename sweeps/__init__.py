"""Studies of many trained models: sweep files (spec.py), one trial's training and metrics (trial.py), their
execution on Ray (ray_runner.py) and the results table (table.py). run_sweep.py is the command line."""
