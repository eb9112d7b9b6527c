"""Ingestion: reading department files, source profiles, normalisers, the load pipeline and its reports.

Calls ``mdm`` services; never writes tables itself.
"""
