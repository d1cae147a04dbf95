"""The ``codesign`` command line: thin wrappers over the public API."""
