"""The subcommands: ``figure1``, ``demo``, ``trajectory``, ``fit``, ``compare``."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from .common import BUNDLED_DATA_PREFIX, CLIError, _atomic_write, _check_outputs, _load_example, _plain, _progress, _records, _show_progress
from .figures import _plot_fit, _plot_trajectory, _start_line, save_rdms_hdf5
from .inputs import _check_distinct_widths, _data_and_task, _one_line, _parse_list, _parse_widths, load_task


# ----------------------------------------------------------------------------- figure1 / demo
def cmd_figure1(args):
    out = Path(args.out_dir) / "figure1.png"
    _check_outputs([out], args.force)
    _progress("simulating gradient descent at 3 learning rates and 3 balances ...")
    _figure1(out, args.lr, args.force)
    return 0


def _figure1(out, lr, force, shown=None, **kwargs):
    """Compute Figure 1, check simulation against theory, and only then write the PNG (nothing on failure).

    ``shown``: the path to print (the final one, when ``out`` is inside a staging folder)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mod = _load_example("figure1")
    fig, worst = mod.make_figure(lr=lr, **kwargs)
    try:
        first = max(v[0] for v in worst.values())
        if not first < 0.1:
            raise CLIError(f"simulation and theory differ by {first:.3g} (> 0.1) at --lr {lr:g}; no figure written; "
                           "try a smaller --lr")
        mod._save_new(fig, out, force)
    finally:
        plt.close(fig)
    print(f"Figure 1 written to {shown or out} (largest |QQ^T_sim - QQ^T_exact| at lr = {lr:g}: {first:.3e})")
    return first


def cmd_demo(args):
    out_dir = Path(args.out_dir)
    sem = _load_example("semantic_development")
    names = ["figure1.png"] + [f"semantic_rdms_{r}.png" for r in sem.regimes()] + [
        "semantic_modes.png", "semantic_rdm_trajectories.png"]
    _check_outputs([out_dir / n for n in names], args.force)
    from ..data.files import staged_folder

    # every figure is drawn into a temporary folder beside the targets and moved into place only when all succeeded
    with staged_folder(out_dir, names, args.force) as stage:
        print("== 1/2  Figure 1: gradient descent vs the exact solution ==")
        _progress("Figure 1 ...")
        f1_kwargs = {"t_max": 4.0} if args.quick else {}
        f1 = {"max_deviation": _figure1(stage / "figure1.png", args.lr, True, shown=out_dir / "figure1.png",
                                        **f1_kwargs)}
        print("\n== 2/2  Semantic development: hidden representations, rich vs lazy, bottleneck vs wide ==")
        _progress("semantic development (about 20 s) ...")
        sem_kwargs = {"widths": (1, 16), "n_times": min(args.n_times, 40)} if args.quick else {"n_times": args.n_times}
        res = sem.run(out_dir=stage, force=True, shown_dir=out_dir, **sem_kwargs)
    print(f"wrote {len(names)} figures to {out_dir}")
    worst = max(f1["max_deviation"], res["max_sim_deviation"])
    print(f"\nlargest simulation-vs-theory deviation: {worst:.3e} "
          f"(Figure 1, gradient descent lr = {args.lr:g}, max |QQ^T_sim - QQ^T_exact|: {f1['max_deviation']:.3e}; "
          f"semantic, gradient flow, relative hidden-RSM error: {res['max_sim_deviation']:.3e})")
    return 0


# ----------------------------------------------------------------------------- trajectory
def _default_times(task, scale, n_times):
    s = task.singular_values
    s = s[s > 1e-12 * max(s[0], 1e-300)] if s.size else s
    if s.size == 0:
        raise CLIError("the task's targets are all zero (Syx = 0): there is nothing to learn")
    a0 = scale**2
    t_hi = (np.log(max(s[0] / a0, np.e)) + 5.0) / (2.0 * s[-1])
    t_lo = 0.05 / s[0]
    return np.concatenate([[0.0], np.logspace(np.log10(t_lo), np.log10(t_hi), n_times - 2), [np.inf]])


def _initial_weights(task, args):
    import rsa_lineardyn as rl

    if args.init == "aligned":
        return rl.task_aligned_init(task, n_hidden=args.n_hidden, lam=args.lam, scale=args.scale)
    return rl.balanced_init(task.n_in, args.n_hidden, task.n_out, lam=args.lam, scale=args.scale, seed=args.seed)


def cmd_trajectory(args):
    import rsa_lineardyn as rl

    from .._validation import MAX_WIDTH, check_grid_size, check_lam, check_positive_int, check_scale

    check_scale(args.scale, "--scale")
    check_lam(args.lam, "--lam")
    check_grid_size(args.n_times, "--n-times", minimum=3)
    _check_run_numbers(args)
    times = None
    if args.times is not None:
        from .._validation import MAX_GRID, check_times

        times = check_times(_parse_list(args.times, "--times"), "--times")
        if times.size > MAX_GRID:
            raise CLIError(f"`--times` has {times.size} values; at most {MAX_GRID} are accepted")
    if args.n_hidden is not None:
        check_positive_int(args.n_hidden, "--n-hidden", maximum=MAX_WIDTH,
                           why="the weights would not fit in memory; any width >= n_in + n_out is already 'wide'")
    task = load_task(args.task)
    prefix = _check_prefix(args.prefix or task.name)
    out_dir = Path(args.out_dir)
    h5, png = out_dir / f"{prefix}_rdms.hdf5", out_dir / f"{prefix}_rdms.png"
    _check_outputs([h5, png], args.force)
    if args.n_hidden is None:
        args.n_hidden = min(task.n_in, task.n_out)
    if times is None:
        if args.n_times < 3:
            raise CLIError(f"--n-times must be >= 3, got {args.n_times}")
        times = _default_times(task, args.scale, args.n_times)
    _progress(f"exact dynamics of {task!r} with n_hidden = {args.n_hidden}, lam = {args.lam:g} at {times.size} times")
    W1, W2 = _initial_weights(task, args)
    traj = rl.exact_dynamics(task, W1, W2, times)
    rdms = rl.to_rdms(traj, args.representation, args.measure,
                      descriptors={"init": args.init, "scale": args.scale, "seed": -1 if args.seed is None else args.seed})
    def save_h5(tmp):
        tmp.unlink()  # rsatoolbox refuses to write over a file, even the empty temporary one
        save_rdms_hdf5(rdms, tmp)

    _atomic_write([(h5, save_h5), (png, lambda tmp: _plot_trajectory(traj, rdms, tmp))], args.force)
    print(f"{rdms.n_rdm} predicted RDMs ({args.representation}, {rdms.dissimilarity_measure}) of {task.name} "
          f"(P = {task.P}, n_hidden = {args.n_hidden}, lam = {args.lam:g}, init = {args.init})")
    print(f"wrote {h5}  (read with rsatoolbox.rdm.load_rdm)")
    print(f"wrote {png}")
    return 0


def _prefix(args):
    """``--prefix``, else derived from the whole input name, so inputs never share outputs.

    ``92images:hIT`` -> ``92images_hIT``; a file ``rdm.npy`` -> ``rdm_npy`` (``rdm.csv`` -> ``rdm_csv``).
    """
    if args.prefix:
        return _check_prefix(args.prefix)
    name = args.data.replace(":", "_") if args.data.startswith(BUNDLED_DATA_PREFIX) else Path(args.data).name
    return _check_prefix(name.replace(".", "_"))


def _check_prefix(prefix):
    """A file name prefix that keeps outputs inside --out-dir (no folders, not '.' or '..')."""
    if Path(prefix).name != prefix or prefix in ("", ".", "..") or "/" in prefix or "\\" in prefix:
        raise CLIError(f"--prefix must be a plain file name prefix (no folders), got {prefix!r}")
    return prefix


def fit_kwargs(args, design):
    """Keyword arguments of ``rl.fit_rdms``, ``rl.compare_widths`` and ``rl.compare_regimes`` (the same names in
    Python) from the parsed options and the resolved descriptors."""
    kw = {"subject_descriptor": design["subject"], "stage_descriptor": design["stage"],
          "condition_descriptor": design["condition"], "stage_order": design["stage_order"],
          "n_boot": args.n_boot, "random_state": args.seed}
    if args.n_draws is not None:
        kw["n_draws"] = args.n_draws
    if getattr(args, "mc_replicates", None) is not None:  # compare only
        kw["mc_replicates"] = args.mc_replicates
    return kw


compare_kwargs = fit_kwargs  # the tests take the same data-in options under the same names


def _check_run_numbers(args):
    """Seeds, bootstrap and draw counts: checked before any file is read (one-line errors naming the flag)."""
    from .._validation import MAX_BOOT, MAX_GRID, check_positive_int

    if getattr(args, "seed", None) is not None:
        check_positive_int(args.seed, "--seed", minimum=0, maximum=2**63 - 1,
                           why="seeds are stored as 64-bit integers; any smaller non-negative integer will do")
    if getattr(args, "n_boot", None) is not None:
        check_positive_int(args.n_boot, "--n-boot", minimum=0, maximum=MAX_BOOT,
                           why="a few hundred to a few thousand samples are typical")
    if getattr(args, "n_draws", None) is not None:
        check_positive_int(args.n_draws, "--n-draws", minimum=1, maximum=MAX_GRID,
                           why="each draw is one exact solve; 16 to 64 are typical")


def _default_fit_widths(task):
    """rl.fit_rdms's n_hidden=None, spelled out for the table: 1 ... rank(task) and one wide network."""
    from ..inference.design import _widths

    return _widths(task, None)


def _check_memory(n_widths, task, data, command, text):
    """Estimate the prediction grids of ``n_widths`` widths before any work; refuse beyond the memory budget."""
    import inspect

    import rsa_lineardyn as rl
    from .._validation import check_memory

    func = rl.fit_rdms if command == "fit" else rl.evaluate_hypotheses
    params = inspect.signature(func).parameters
    n_times, n_lam = params["n_times"].default, params["n_lam"].default
    n_pairs = data.n_cond * (data.n_cond - 1) // 2
    try:
        check_memory(float(n_widths) * n_times * n_lam * max(n_pairs, 1),
                     f"--widths {text or '(default)'}: {n_widths} width(s) x {n_lam} lam x {n_times} times x "
                     f"{n_pairs} dissimilarities of predictions",
                     "Give fewer widths (widths above the task's rank behave alike; 'wide' stands for all of them).")
    except rl.InputValueError as exc:
        raise CLIError(_one_line(exc)) from None


def cmd_fit(args):
    """``rsa-lineardyn fit``: widths -> rl.fit_rdms -> one row per width, the best fit, its intervals (all or none)."""
    _check_run_numbers(args)
    if args.widths is not None:  # syntax, duplicates and caps before any file is read
        _check_distinct_widths(_flat_widths(args.widths), args.widths)
    data, task, design = _data_and_task(args)
    out_dir, prefix = Path(args.out_dir), _prefix(args)
    paths = (out_dir / f"{prefix}_fit.csv", out_dir / f"{prefix}_best.json", out_dir / f"{prefix}_fit.png")
    _check_outputs(list(paths), args.force)
    widths = _default_fit_widths(task) if args.widths is None else _flat_widths(args.widths, task)
    if args.widths is not None:
        _check_wide_clash(_parse_widths(args.widths, task), task, args.widths, ranges=True)
        _check_distinct_widths(widths, args.widths)
    _check_memory(len(widths), task, data, "fit", args.widths)
    res = _run_fit(args, data, task, design, widths)
    table = _width_table(res, widths, args)
    # the library's best (the intervals' estimate), not the table's argmax: on a flat profile another width's grid
    # score can exceed the refined best by rounding (1e-11), and best.json and the figure would name that width
    best = table.iloc[int(np.flatnonzero(table.n_hidden.to_numpy() == int(res.best["n_hidden"]))[0])].to_dict()
    best = {k: (v.item() if hasattr(v, "item") else v) for k, v in best.items()}
    model = _best_model(args, task, data, design, res, best)
    info = _fit_info(args, data, task, design, res, best, widths, paths[0])
    _write_fit(args, paths, table, info, data, design, model, res)
    _print_fit(args, res, table, best, paths)
    return 0


def _check_wide_clash(tokens, task, text, ranges):
    """Refuse 'wide' beside the width it stands for (``max(n_in, n_out)`` of ``task``): the same network twice.

    ``ranges``: a range counts too (``fit`` searches its widths one by one; for ``compare`` it is another hypothesis).
    """
    from ..inference.design import wide_width

    if "wide" not in tokens:
        return
    wide = wide_width(task)
    given = [w for tok in tokens if tok != "wide" for w in (tok if isinstance(tok, list) else [tok])
             if ranges or not isinstance(tok, list)]
    if wide in given:
        raise CLIError(f"`--widths` {text!r}: 'wide' stands for width {wide} with task {task.name} (max(n_in, n_out) = "
                       f"max({task.n_in}, {task.n_out})), which --widths lists as well: the same network twice. Drop "
                       f"'wide' or {wide}")


def _flat_widths(text, task=None):
    """``--widths`` as a flat list of widths (ranges expanded; 'wide' is ``max(n_in, n_out)`` of ``task``, as for
    ``compare``, or stays 'wide' before the task is read)."""
    from ..inference.design import wide_width

    wide = "wide" if task is None else wide_width(task)
    return [wide if tok == "wide" else w for tok in _parse_widths(text, task)
            for w in (tok if isinstance(tok, list) else [tok])]


def _run_fit(args, data, task, design, widths):
    import rsa_lineardyn as rl

    _progress(f"fitting n_hidden in {widths} with rl.fit_rdms ...")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rl.DegeneracyWarning)
            return rl.fit_rdms(data, task, n_hidden=widths, lam=args.lam, method=args.method, init=args.init,
                               representation=args.representation, measure=args.measure,
                               **fit_kwargs(args, design),
                               start_check=None if args.no_start_check else "widen",
                               progress=_show_progress(args))
    except (rl.InputValueError, rl.InputTypeError) as exc:
        raise CLIError(_one_line(exc)) from None


def _width_table(res, widths, args):
    """One row per width: its best grid candidate; the overall best row is the refined optimum."""
    import pandas as pd

    cand = res.table
    rows = []
    for h in widths:
        sub = cand[cand.n_hidden == h]
        if sub.empty or not np.isfinite(sub.score).any():
            raise CLIError(f"n_hidden = {h}: no feasible prediction with a defined {args.method!r} score")
        r = res.best if h == res.best["n_hidden"] else sub.loc[sub.score.idxmax()].to_dict()
        stage_times = {k: float(v) for k, v in r.items() if str(k).startswith("time[")}
        # several stages: the table shows every stage's time; "time" is the last stage's (the figure shows it)
        t_last = float(r["time"]) if "time" in r else list(stage_times.values())[-1]
        rows.append({"n_hidden": h, "lam": float(r["lam"]), "time": t_last,
                     "log10_time": float(np.log10(t_last)), "scale": float(r["scale"]),
                     **{k: float(r[k]) for k in ("rate", "offset") if k in r and not stage_times == {}},
                     **stage_times,
                     "score": float(r["score"]), "method": args.method, "representation": args.representation,
                     "measure": args.measure})
    return pd.DataFrame(rows)


def _best_model(args, task, data, design, res, best):
    """The best width's LinearNetworkModel with its fitted parameters (drawn in the figure)."""
    import rsa_lineardyn as rl
    from ..representations.descriptors import with_condition_labels

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rl.DegeneracyWarning)
        model = rl.LinearNetworkModel(task, n_hidden=int(best["n_hidden"]), init=res.settings["init"],
                                      n_draws=res.settings["n_draws"], seed=res.settings["draw_seed"],
                                      representation=args.representation,
                                      measure=args.measure, lam=args.lam, scale=best["scale"],
                                      item_order=with_condition_labels(data, design["condition"]),
                                      name=f"N_h={int(best['n_hidden'])}")
    model.theta_ = np.array(([best["lam"]] if model.lam is None else []) + [best["log10_time"]])
    return model


def _fit_info(args, data, task, design, res, best, widths, csv_path):
    """The JSON record of a fit: the best row, the intervals, the settings and descriptors used."""
    width_tests = None if res.width_tests is None else _records(res.width_tests)
    return {"best": best, "intervals": _records(res.intervals), "width_tests": width_tests, "level": float(res.settings["ci"]),
            "bootstrap_over": res.settings["bootstrap_over"], "n_boot": int(args.n_boot), "seed": args.seed,
            "subject_descriptor": design["subject"], "stage_descriptor": design["stage"],
            "condition_descriptor": design["condition"], "condition_labels_from": design["labels_from"],
            "stage_order": design["stage_order"], "flat_tol": float(res.settings["flat_tol"]), "data": str(args.data), "n_rdm": int(data.n_rdm),
            "n_cond": int(data.n_cond), "task": task.name, "widths": widths, "fitter": "rsa_lineardyn.fit_rdms",
            "init": res.settings["init"], "start_check": res.settings.get("start_check"),
            "other_init": res.settings.get("other_init"),
            "messages": list(res.messages), "table": str(csv_path), "settings": _plain(res.settings)}


def _write_fit(args, paths, table, info, data, design, model, res):
    from ..representations.descriptors import with_condition_labels

    csv_path, json_path, png = paths
    undetermined = [str(r.parameter) for r in res.intervals.itertuples() if not r.determined]
    _atomic_write([(csv_path, lambda p: table.to_csv(p, index=False)),
                   (json_path, lambda p: p.write_text(json.dumps(info, indent=2))),
                   (png, lambda p: _plot_fit(with_condition_labels(data, design["condition"]), model, table, p,
                                             args.method, undetermined))], args.force)


def _print_fit(args, res, table, best, paths):
    from ..inference.fitting import format_interval
    from ..inference.width_test import format_width_test

    print(_start_line(res.settings["init"], res.settings.get("other_init")))
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"best ({args.method} = {best['score']:.4f}; {100 * res.settings['ci']:.0f}% intervals, bootstrap over "
          f"{res.settings['bootstrap_over'] or 'nothing (--n-boot 0)'}):")
    for r in res.intervals.itertuples():
        print("  " + format_interval(r.parameter, r.estimate, r.low, r.high, r.determined, r.reason))
    if res.width_tests is not None:
        for r in res.width_tests.itertuples():
            print("  " + format_width_test(r))
    for p in paths:
        print(f"wrote {p}")


def cmd_compare(args):
    """``rsa-lineardyn compare``: rl.compare_widths / compare_regimes -> tables, JSON and figure (all or none)."""
    import rsa_lineardyn as rl

    from .._validation import check_comparison_method

    _check_run_numbers(args)
    try:
        check_comparison_method(args.method, "--method")
    except rl.InputValueError as exc:
        raise CLIError(_one_line(exc)) from None
    drawable = True  # rl.plot_hypotheses draws every method (its own labels; not rsatoolbox's plot_model_comparison)
    if not args.regimes:
        _parse_widths(args.widths)  # syntax and caps before any file is read
    data, task, design = _data_and_task(args)
    kind = "regimes" if args.regimes else "widths"
    paths = _compare_paths(args, kind)
    outputs = list(paths[:3]) + ([paths[3]] if drawable else [])
    _check_outputs(outputs, args.force)
    widths = _compare_widths_checked(args, task, data)
    res = _run_compare(args, data, task, design, widths)
    _print_compare(args, res)
    info = _compare_info(args, kind, task, design, res, paths, drawable)
    _write_compare(args, kind, res, info, paths, drawable)
    for p in outputs:
        print(f"wrote {p}")
    return 0


def _compare_paths(args, kind):
    out_dir, prefix = Path(args.out_dir), _prefix(args)
    return (out_dir / f"{prefix}_compare_{kind}.csv", out_dir / f"{prefix}_compare_{kind}_pairwise.csv",
            out_dir / f"{prefix}_compare_{kind}.json", out_dir / f"{prefix}_compare_{kind}.png")


def _regimes_width(res):
    """The width the --regimes models used (--n-hidden, or the task's rank when it was not given)."""
    widths = {m.n_hidden for h in getattr(res, "hypotheses", []) for m in getattr(h, "models", [])}
    return widths.pop() if len(widths) == 1 else sorted(widths)


def _default_widths():
    """``compare --widths``' default (the Python API's ``widths`` default, as the parser shows it)."""
    import inspect

    import rsa_lineardyn as rl

    d = inspect.signature(rl.compare_widths).parameters["widths"].default
    return ",".join(str(w) for w in d) if isinstance(d, (list, tuple)) else d


def _compare_widths_checked(args, task, data):
    """The widths to compare (None for --regimes, whose --n-hidden is checked instead); memory checked first."""
    if args.regimes and args.widths != _default_widths():
        raise CLIError(f"--widths {args.widths} cannot be used with --regimes: --regimes compares rich and lazy "
                       "networks of one width (--n-hidden); drop --widths, or drop --regimes to compare widths")
    if not args.regimes and args.n_hidden is not None:
        raise CLIError(f"--n-hidden {args.n_hidden} is the width of the --regimes models; to compare widths use "
                       f"--widths (e.g. --widths {args.n_hidden},wide), or add --regimes")
    if args.regimes:
        if args.n_hidden is not None:
            from .._validation import MAX_WIDTH, check_positive_int

            check_positive_int(args.n_hidden, "--n-hidden", maximum=min(MAX_WIDTH, task.n_in + task.n_out),
                               why="every network is already wide at n_in + n_out")
        return None
    widths = _parse_widths(args.widths, task)
    _check_wide_clash(widths, task, args.widths, ranges=False)
    n_w = len({w for tok in widths for w in (tok if isinstance(tok, list) else [tok])})
    _check_memory(n_w, task, data, "compare", args.widths)
    return widths


def _run_compare(args, data, task, design, widths):
    import rsa_lineardyn as rl

    kw = dict(method=args.method, init=args.init, correction=args.correction, progress=_show_progress(args),
              time_bounds=args.time_bounds, lam_bounds=args.lam_bounds, **compare_kwargs(args, design))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rl.DegeneracyWarning)
            if args.regimes:
                _progress(f"rl.compare_regimes (n_hidden = {args.n_hidden or 'rank of the task'}) ...")
                return rl.compare_regimes(data, task, n_hidden=args.n_hidden, **kw)
            _progress(f"rl.compare_widths with widths {widths} ...")
            return rl.compare_widths(data, task, widths=widths, **kw)
    except (rl.InputValueError, rl.InputTypeError) as exc:
        raise CLIError(_one_line(exc)) from None


def _print_compare(args, res):
    table = res.table
    cols = [c for c in ("model", "mean", "ci_low", "ci_high", "n_units", "dof", "variance_method") if c in table]
    pcols = [c for c in ("model_a", "model_b", "mean_diff", "sem", "mc_se", "p", "p_corrected", "significant", "dof",
                         "variance_method") if c in res.pairwise]
    print(_start_line(args.init))
    print(f"crossvalidated {args.method} over {res.settings['n_units']} units ({res.settings['unit_descriptor']!r}), "
          f"{res.settings['cv']}; {res.settings['n_stages']} stage(s); {int(100 * res.settings.get('ci', 0.95))}% "
          "t intervals")
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"pairwise (each pair once; two-sided, H0: equal mean crossvalidated score; p_corrected: "
          f"{res.settings.get('correction', 'holm')} over the family):")
    print(res.pairwise[pcols].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    if res.stages is not None:
        scols = ["model_a", "model_b", "stage", "score_a", "score_b", "mean_diff", "sem", "p", "p_corrected",
                 "significant"]
        print(f"per stage (each pair at each stage, same folds and fits; p_corrected: "
              f"{res.stages['correction'].iloc[0]} "
              "over pairs x stages; a network significantly below the feature baseline fails at that stage):")
        print(res.stages[scols].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    for m in res.messages:
        print(f"note: {m}")


def _compare_info(args, kind, task, design, res, paths, drawable):
    csv_path, pw_path, _, png = paths
    return {"kind": kind, "data": str(args.data), "task": task.name, "init": args.init, "method": args.method,
            "n_boot": int(args.n_boot), "seed": args.seed, "widths": None if args.regimes else args.widths,
            "subject_descriptor": design["subject"], "stage_descriptor": design["stage"],
            "condition_descriptor": design["condition"], "condition_labels_from": design["labels_from"],
            "n_hidden": _regimes_width(res) if args.regimes else None, "table": _records(res.table),
            "pairwise": _records(res.pairwise),
            "stages": None if res.stages is None else _records(res.stages), "messages": list(res.messages),
            "settings": _plain(res.settings),
            "csv": str(csv_path), "pairwise_csv": str(pw_path), "figure": str(png) if drawable else None}


def _write_compare(args, kind, res, info, paths, drawable):
    import rsa_lineardyn as rl

    csv_path, pw_path, json_path, png = paths

    def write_png(path):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, _, _ = rl.plot_hypotheses(res)
        fig.suptitle(f"{args.data}: {kind} ({args.method}, init = {args.init})", fontsize=10)
        fig.savefig(path, dpi=110, format="png", bbox_inches="tight")
        plt.close(fig)

    _atomic_write([(csv_path, lambda p: res.table.to_csv(p, index=False)),
                   (pw_path, lambda p: res.pairwise.to_csv(p, index=False)),
                   (json_path, lambda p: p.write_text(json.dumps(info, indent=2, default=str)))]
                  + ([(png, write_png)] if drawable else []), args.force)
