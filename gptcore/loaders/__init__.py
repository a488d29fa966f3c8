"""Built-in weight loaders (registered through entry points, like any plugin)."""
