"""One module per command. Each keeps its top level light (typer only)."""
