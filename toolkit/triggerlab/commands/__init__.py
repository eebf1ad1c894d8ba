"""One module per CLI command; each has ``register(subparsers)`` and sets ``run`` on its parser.

A command parses its flags, calls the library function of the same name and prints; nothing more.
"""
