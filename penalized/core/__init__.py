"""The core layer: validation at the edge, the problem, datafits, results, certificates.

Nothing here imports a solver, a workflow or the application.
"""
