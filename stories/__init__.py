"""Pure clustering logic: arrays and small records in, decisions out. No I/O, no model."""
