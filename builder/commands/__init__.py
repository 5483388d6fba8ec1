"""One module per command group; each exports Click commands registered by builder.cli."""
