"""Workflows over the solvers: one fit, a regularization path, cross-validation,
ridge LOO / GCV and information criteria, and the scorers they share."""
