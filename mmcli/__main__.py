"""`python -m mmcli`, and the `mmcli` script's entry point."""


def main() -> None:
    import gc

    # Start-up builds tens of thousands of objects that live as long as the
    # process and no garbage; with the collector on, it rescans them dozens of
    # times on the way (several ms of every one-shot). cli.main freezes them
    # and turns the collector back on before the command runs.
    gc.disable()
    from .cli import main as run_cli

    run_cli()


if __name__ == "__main__":
    main()
