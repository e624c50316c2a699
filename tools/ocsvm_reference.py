#!/usr/bin/python3
"""scikit-learn's SGDOneClassSVM as M3DM configures its late fusion, for the parity test of cfm's port
(common/memory_bank/one_class_svm.h).

    ocsvm_reference.py ROWS.npy [--nu 0.5] [--max-iter 1000] [--random-state 42]

ROWS.npy: float64, n x d. Prints JSON: coef (d), offset, n_iter, and score_samples of the first 5 rows.
"""
import argparse
import json
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDOneClassSVM


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rows")
    parser.add_argument("--nu", type=float, default=0.5)
    parser.add_argument("--max-iter", type=int, default=1000)
    parser.add_argument("--random-state", type=int, default=42)
    args = parser.parse_args()
    rows = np.load(args.rows)
    svm = SGDOneClassSVM(random_state=args.random_state, nu=args.nu, max_iter=args.max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a capped run is compared as it is
        svm.fit(rows)
    print(json.dumps({"coef": svm.coef_.tolist(), "offset": float(svm.offset_[0]), "n_iter": int(svm.n_iter_),
                      "scores": svm.score_samples(rows[:5]).tolist()}))


if __name__ == "__main__":
    main()
