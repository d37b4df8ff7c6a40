"""Data in and out: the bundled datasets (``bundled``, checksummed, never unpickled) and atomic output
files (``files``).  Imports :mod:`~rsa_lineardyn.dynamics` and :mod:`~rsa_lineardyn.representations`.
"""
