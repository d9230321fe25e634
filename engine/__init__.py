"""The service without HTTP: the writer, the assignment pipeline, corrections, reads,
search and the nightly re-index, over the storage, index and model interfaces.

`app/` translates requests and settings into calls here; evaluation drives the same
classes, so its scores measure the service.
"""
