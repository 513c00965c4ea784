"""``penalized fit`` / ``predict`` on real tables: row indexes, multiclass, ridge, safe saves."""

from __future__ import annotations

import json

import numpy as np
from sklearn.datasets import load_breast_cancer

from penalized.app.cli import main


def run(argv, capsys):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


QUICK = ["--cv", "3", "--n-alphas", "15", "--json"]


def test_rownames_on_a_class_sorted_file_is_set_aside(tmp_path, capsys):
    data = load_breast_cancer(as_frame=True).frame.sort_values("target", kind="stable")
    data = data.iloc[:, [0, 1, 2, 3, -1]]  # weak features: an index would dominate them
    data.insert(0, "rownames", np.arange(1, data.shape[0] + 1))
    path = tmp_path / "sorted.csv"
    data.to_csv(path, index=False)
    code, out, err = run(["fit", path, "-t", "target", "-o", tmp_path / "a", *QUICK], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert "rownames" in result["set_aside"] and "rownames" not in result["coefficients"]
    assert "'rownames' set aside: row index" in err
    assert "rownames" in (tmp_path / "a" / "report.html").read_text()
    # the leak it prevents: kept, the index separates the sorted classes almost perfectly
    code, out, err = run(["fit", path, "-t", "target", "-o", tmp_path / "b", "--keep",
                          "rownames", "--no-report", *QUICK], capsys)
    assert code == 0, err
    leaky = json.loads(out)
    assert "rownames" in leaky["coefficients"]
    assert leaky["cv_score"] < 0.5 * result["cv_score"]
