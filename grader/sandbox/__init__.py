"""The sandbox: isolation modes, mounts, limits and the launcher every sandboxed command starts with."""
