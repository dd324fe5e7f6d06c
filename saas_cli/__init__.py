"""The ``saas-connectors`` command line: the demo, the demo API, and (later) the local runners."""
