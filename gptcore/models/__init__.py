"""Built-in architectures (registered through entry points, like any plugin)."""
