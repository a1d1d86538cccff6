"""Built-in example scenarios shipped with the package."""
