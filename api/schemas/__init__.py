"""Request and response models (what travels over HTTP), one module per resource; never table models. Response
models read the engine's result dataclasses by attribute (``from_attributes``)."""
