"""The command line and the headless workflow runner: an app on top of the engine
(`deforum_core`) and the pack's nodes (`deforum_comfy`), installed by `pip install .`."""
