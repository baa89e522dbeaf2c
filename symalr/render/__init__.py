"""Rendering of optimizer specs: code printers, the torch lowering, module sources, LaTeX.

Importing this package (or any module in it) loads neither torch nor TensorFlow: the printers
only print those libraries' names.
"""
