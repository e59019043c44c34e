"""One reference check per module; each exposes ``CHECK`` (``validation.types.Check``)."""
