"""Speed of robusthep.sim: events/s per core, overhead over bare Pythia, 2-shard speed-up.

Run:  .venv/bin/python benchmarks/bench_sim.py [--events 600] [--json benchmarks/sim.json]
      .venv/bin/python benchmarks/bench_sim.py --parts wjets-overhead,wjets-demo,wjets-physics
      .venv/bin/python benchmarks/bench_sim.py --parts btrigger-overhead,btrigger-physics

Every reference (a bare Pythia ``next()`` loop with the same settings, one shard on one
core) is measured in the same run, interleaved with what it is compared to, and the best
of ``--repeats`` is kept, because other work on the machine slows single runs down.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np

from robusthep.parallel import Executor
from robusthep.sim.btrigger import BTriggerSettings
from robusthep.sim.btrigger_shard import simulate_btrigger
from robusthep.sim.higgs import HiggsSettings, _process_settings, generate_higgs
from robusthep.sim.pythia import make_pythia
from robusthep.sim.shard import simulate
from robusthep.sim.wjets import WJetsSettings, _pythia_settings, generate_wjets
from robusthep.sim.wjets_shard import BATCH_EVENTS, simulate_wjets


def _timed(work):
    """(wall seconds, CPU seconds of this process) of ``work()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def _bare_loop(settings, events, seed):
    pythia = make_pythia(settings, seed)
    for _ in range(events):
        pythia.next()


def bare_pythia(settings, events, seed):
    """The reference: initialise Pythia with the same settings and call next() N times."""
    return _timed(lambda: _bare_loop(settings, events, seed))


def robusthep_shard(settings, events, seed):
    """One robusthep shard: Pythia, event record, detector, jets, features (no file)."""
    return _timed(lambda: simulate(settings, events, seed, seed + 1))


def _shard(arguments):
    settings, events, seed = arguments
    return robusthep_shard(settings, events, seed)[1]


def import_cpu_seconds():
    """CPU time a fresh worker spends importing robusthep.sim (the spawn start-up cost)."""
    code = "import robusthep.sim.higgs, robusthep.sim.shard, fastjet, pythia8mc"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def overhead(process, fast, events, repeats):
    settings, _ = _process_settings(process, HiggsSettings(fast=fast, processes=(process,)))
    bare, ours = [], []
    for repeat in range(repeats):
        bare.append(bare_pythia(settings, events, 100 + repeat))
        ours.append(robusthep_shard(settings, events, 100 + repeat))
    # CPU time is what a shard costs; wall time also counts other work on the machine.
    bare_cpu, ours_cpu = min(c for _, c in bare), min(c for _, c in ours)
    bare_wall, ours_wall = min(w for w, _ in bare), min(w for w, _ in ours)
    return {
        "process": process,
        "mode": "fast" if fast else "full",
        "events": events,
        "bare_cpu_seconds": bare_cpu,
        "robusthep_cpu_seconds": ours_cpu,
        "bare_events_per_cpu_second": events / bare_cpu,
        "robusthep_events_per_cpu_second": events / ours_cpu,
        "ratio": ours_cpu / bare_cpu,
        "bare_wall_seconds": bare_wall,
        "robusthep_wall_seconds": ours_wall,
        "wall_ratio": ours_wall / bare_wall,
    }


def speedup(process, events, repeats):
    """Two shards run one after the other on one core, then on two local workers."""
    settings, _ = _process_settings(process, HiggsSettings(fast=True, processes=(process,)))
    items = [(settings, events, 200), (settings, events, 201)]
    serial, parallel, shard_cpu = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        shard_cpu.extend(Executor("local", workers=1).map(_shard, items))
        serial.append(time.perf_counter() - start)
        start = time.perf_counter()
        Executor("local", workers=2).map(_shard, items)
        parallel.append(time.perf_counter() - start)
    startup = import_cpu_seconds()
    cpu = min(shard_cpu)
    return {
        "process": process,
        "events_per_shard": events,
        "serial_seconds": min(serial),
        "two_workers_seconds": min(parallel),
        "speedup": min(serial) / min(parallel),
        "shard_cpu_seconds": cpu,
        "worker_import_cpu_seconds": startup,
        # Two idle cores: both shards run at once, after each worker's imports.
        "idle_machine_projection": 2 * cpu / (cpu + startup),
    }


def demo_sample():
    """The default demo sample (HiggsSettings.quick()) on two local workers, cache cold."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        data = generate_higgs(
            HiggsSettings.quick(),
            output=Path(folder) / "demo",
            executor=Executor("local", workers=2),
            progress=False,
        )
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        generate_higgs(HiggsSettings.quick(), output=Path(folder) / "demo", progress=False)
        cached = time.perf_counter() - start
    return {"seconds": seconds, "cached_seconds": cached, "selected_events": len(data)}


def _mode_summary(data):
    """Per process: expected yield and the features the fast mode can change."""
    columns, rows = data.columns, {}
    for name in data.meta["processes"]:
        take = columns["process"] == name
        met_error = columns["met"][take] - columns["true_met"][take]
        rows[name] = {
            "selected": int(take.sum()),
            "yield": float(columns["weight"][take].sum()),
            "mean_n_jets": float(np.mean(columns["n_jets"][take])),
            "mean_jet_all_pt": float(np.mean(columns["jet_all_pt"][take])),
            "mean_had_pt": float(np.mean(columns["had_pt"][take])),
            "median_mass_vis": float(np.median(columns["mass_vis"][take])),
            "met_minus_true_rms": float(np.sqrt(np.mean(met_error**2))),
        }
    return rows


def modes(events, folder):
    """Full and fast mode samples with the same seed: what switching MPI off changes."""
    result = {}
    for mode in ("full", "fast"):
        settings = HiggsSettings(events=events, shard_events=1000, fast=mode == "fast", seed=7)
        start = time.perf_counter()
        data = generate_higgs(settings, output=folder / f"modes-{mode}-{events}", progress=False)
        result[mode] = {"seconds": time.perf_counter() - start, "processes": _mode_summary(data)}
    return result


def _bare_wjets_loop(settings, events, seed, radius, cluster):
    """Pythia's nextBatch in the same batches; with ``cluster``, anti-kT of the particles."""
    import fastjet

    pythia = make_pythia(settings, seed)
    definition = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    for first in range(0, events, BATCH_EVENTS):
        batch = pythia.nextBatch(min(BATCH_EVENTS, events - first), "skip")
        if not cluster:
            continue
        particles = batch.prt
        pdg = abs(particles.id)
        visible = (particles.status > 0) & (pdg != 12) & (pdg != 14) & (pdg != 16) & (pdg != 13)
        momenta = particles.p[visible]
        four = ak.zip({"px": momenta.px, "py": momenta.py, "pz": momenta.pz, "E": momenta.e})
        fastjet.ClusterSequence(four, definition).inclusive_jets(min_pt=250.0)


def _bare_next_loop(settings, events, seed):
    pythia = make_pythia(settings, seed)
    for _ in range(events):
        pythia.next()


def wjets_overhead(process, fast, events, repeats, pt_hat=(300.0, 450.0)):
    """robusthep's wjets shard against bare Pythia (next()) and Pythia + FastJet."""
    wjets = WJetsSettings(fast=fast, processes=(process,))
    settings = _pythia_settings(process, *pt_hat, wjets)
    selection = wjets.selection(process)
    timings = {"next": [], "pythia_fastjet": [], "robusthep": []}
    for repeat in range(repeats):
        seed = 300 + repeat
        timings["next"].append(_timed(lambda s=seed: _bare_next_loop(settings, events, s)))
        timings["pythia_fastjet"].append(
            _timed(lambda s=seed: _bare_wjets_loop(settings, events, s, 1.0, True))
        )
        timings["robusthep"].append(
            _timed(lambda s=seed: simulate_wjets(settings, events, s, s + 1, selection))
        )
    cpu = {name: min(c for _, c in rows) for name, rows in timings.items()}
    return {
        "process": process,
        "mode": "fast" if fast else "full",
        "pt_hat": list(pt_hat),
        "events": events,
        **{f"{name}_cpu_seconds": value for name, value in cpu.items()},
        **{f"{name}_events_per_cpu_second": events / value for name, value in cpu.items()},
        "ratio_to_pythia_fastjet": cpu["robusthep"] / cpu["pythia_fastjet"],
        "ratio_to_next": cpu["robusthep"] / cpu["next"],
    }


def btrigger_overhead(process, fast, events, repeats):
    """robusthep's btrigger shard (tracks, vertices, candidates) against bare Pythia next()."""
    settings = BTriggerSettings(fast=fast, processes=(process,))
    pythia = settings.pythia_settings(process)
    bare, ours = [], []
    for repeat in range(repeats):
        seed = 50 + repeat
        bare.append(_timed(lambda s=seed: _bare_next_loop(pythia, events, s))[1])
        ours.append(
            _timed(lambda s=seed: simulate_btrigger(pythia, events, s, 1, settings.selection()))[1]
        )
    return {
        "process": process,
        "mode": "fast" if fast else "full",
        "events": events,
        "bare_events_per_cpu_second": events / min(bare),
        "robusthep_events_per_cpu_second": events / min(ours),
        "ratio": min(ours) / min(bare),
    }


def _btrigger_summary(data):
    """Candidate counts, the tail fit of the true b-hadron decay times, feature medians."""
    from scipy.stats import kstest

    columns = data.columns
    signal = columns["label"] == 1
    keys = np.char.add(
        columns["process"][signal].astype(str), columns["true_b_pt"][signal].astype(str)
    )
    _, first = np.unique(keys, return_index=True)
    time_ps = columns["true_b_decay_time"][signal][first]
    excess = time_ps[time_ps > 1.0] - 1.0
    result = {
        "candidates": len(signal),
        "signal": int(signal.sum()),
        "b_hadrons": len(first),
        "tau_ps": float(excess.mean()),
        "tau_error_ps": float(excess.mean() / np.sqrt(len(excess))),
        "ks_p": float(kstest(excess, "expon", args=(0, excess.mean())).pvalue),
        "processes": data.meta["processes"],
    }
    features = ("sum_pt", "min_ip_chi2", "fd", "fd_chi2", "vertex_chi2", "doca")
    for name in (*features, "corrected_mass", "decay_time"):
        result[name] = [
            float(np.median(columns[name][signal])),
            float(np.median(columns[name][~signal])),
        ]
    return result


def btrigger_physics(events, folder):
    """The btrigger demo (2 workers, cold cache) and a full-mode sample of ``events`` each."""
    from robusthep.sim.btrigger import generate_btrigger

    result = {}
    for name, settings in (
        ("demo", BTriggerSettings.quick()),
        ("full", BTriggerSettings(events=events, shard_events=2500, seed=5)),
    ):
        start = time.perf_counter()
        data = generate_btrigger(
            settings,
            output=folder / f"btrigger-{name}-{events}",
            executor=Executor("local", workers=2),
            progress=False,
        )
        result[name] = {"seconds": time.perf_counter() - start, **_btrigger_summary(data)}
    return result


def wjets_demo():
    """The wjets demo sample (WJetsSettings.quick()) on two local workers, cache cold."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        data = generate_wjets(
            WJetsSettings.quick(),
            output=Path(folder) / "demo",
            executor=Executor("local", workers=2),
            progress=False,
        )
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "selected_events": len(data)}


def _auc_signal_below(signal, background):
    """P(signal value < background value): the tagger 'smaller is W-like' as a ROC area."""
    ranks = np.searchsorted(np.sort(background), signal)
    return float(1.0 - ranks.mean() / len(background))


def wjets_physics(events, fast, folder):
    """A wjets sample: W peak, substructure separation, yields, selection efficiencies."""
    from scipy.stats import gaussian_kde

    settings = WJetsSettings(events=events, shard_events=1000, fast=fast, seed=11)
    start = time.perf_counter()
    data = generate_wjets(
        settings, output=folder / f"wjets-{'fast' if fast else 'full'}-{events}", progress=False
    )
    seconds = time.perf_counter() - start
    columns, meta = data.columns, data.meta
    signal, background = columns["label"] == 1, columns["label"] == 0
    mass = columns["jet_mass_sd"][signal]
    window = mass[(mass > 40) & (mass < 130)]
    grid = np.linspace(40, 130, 901)
    peak = grid[np.argmax(gaussian_kde(window, bw_method=0.15)(grid))]
    result = {
        "seconds": seconds,
        "mode": "fast" if fast else "full",
        "w_soft_drop_mass_peak": float(peak),
        "w_soft_drop_mass_median_60_100": float(np.median(mass[(mass > 60) & (mass < 100)])),
        "w_fraction_60_100": float(np.mean((mass > 60) & (mass < 100))),
        "qcd_fraction_60_100": float(
            np.mean(
                (columns["jet_mass_sd"][background] > 60)
                & (columns["jet_mass_sd"][background] < 100)
            )
        ),
        "processes": {
            name: {
                "generated": p["generated"],
                "selected": p["selected"],
                "sigma_pb": p["sigma_pb"],
                "expected_yield": p["expected_yield"],
            }
            for name, p in meta["processes"].items()
        },
    }
    for name in ("jet_tau21", "jet_d2", "jet_n_constituents"):
        result[name] = {
            "median_w": float(np.median(columns[name][signal])),
            "median_qcd": float(np.median(columns[name][background])),
            "auc_w_smaller": _auc_signal_below(columns[name][signal], columns[name][background]),
        }
    return result


def _print_wjets(rows, demo, physics):
    if rows:
        print(
            f"{'process':7} {'mode':5} {'next() ev/CPU-s':>16} {'Pythia+FastJet':>15} "
            f"{'robusthep':>10} {'÷ Pythia+FJ':>12} {'÷ next()':>9}"
        )
    for row in rows:
        print(
            f"{row['process']:7} {row['mode']:5} {row['next_events_per_cpu_second']:16.1f} "
            f"{row['pythia_fastjet_events_per_cpu_second']:15.1f} "
            f"{row['robusthep_events_per_cpu_second']:10.1f} "
            f"{row['ratio_to_pythia_fastjet']:12.3f} {row['ratio_to_next']:9.3f}"
        )
    if demo:
        print(
            f"wjets demo (quick): {demo['seconds']:.1f} s on 2 workers, "
            f"{demo['selected_events']} jets"
        )
    if physics:
        print(json.dumps(physics, indent=1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600, help="events per measurement")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/sim.json"))
    parser.add_argument(
        "--shard-events", type=int, default=2000, help="events per shard of the speed-up test"
    )
    parser.add_argument(
        "--parts", default="overhead,speedup,demo", help="what to measure (also: modes)"
    )
    parser.add_argument("--mode-events", type=int, default=4000, help="per process, for modes")
    parser.add_argument(
        "--mode-folder", type=Path, default=Path(tempfile.gettempdir()) / "robusthep-bench-sim"
    )
    parser.add_argument("--wjets-events", type=int, default=400, help="per wjets overhead run")
    parser.add_argument("--btrigger-events", type=int, default=600, help="per btrigger run")
    parser.add_argument("--physics-events", type=int, default=5000, help="per wjets process")
    arguments = parser.parse_args()
    parts = arguments.parts.split(",")
    wjets_rows = [
        wjets_overhead(process, fast, arguments.wjets_events, arguments.repeats)
        for process in ("qcd", "wjet")
        for fast in (False, True)
        if "wjets-overhead" in parts
    ]
    wjets_demo_result = wjets_demo() if "wjets-demo" in parts else None
    physics = (
        wjets_physics(
            arguments.physics_events, "wjets-physics-fast" in parts, arguments.mode_folder
        )
        if any(part.startswith("wjets-physics") for part in parts)
        else None
    )
    _print_wjets(wjets_rows, wjets_demo_result, physics)
    btrigger_rows = [
        btrigger_overhead(process, fast, arguments.btrigger_events, arguments.repeats)
        for process in ("bbbar", "light")
        for fast in (False, True)
        if "btrigger-overhead" in parts
    ]
    btrigger_sample = (
        btrigger_physics(arguments.physics_events, arguments.mode_folder)
        if "btrigger-physics" in parts
        else None
    )
    if btrigger_sample:
        print(json.dumps(btrigger_sample, indent=1, default=str))
    for row in btrigger_rows:
        print(
            f"btrigger {row['process']:6} {row['mode']:5} bare "
            f"{row['bare_events_per_cpu_second']:.0f} ev/CPU-s, robusthep "
            f"{row['robusthep_events_per_cpu_second']:.0f}, "
            f"ratio {row['ratio']:.3f}"
        )

    rows = [
        overhead(process, fast, arguments.events, arguments.repeats)
        for process in ("htautau", "ztautau")
        for fast in (False, True)
        if "overhead" in parts
    ]
    if rows:
        print(
            f"{'process':9} {'mode':5} {'bare ev/CPU-s':>14} {'robusthep ev/CPU-s':>19} "
            f"{'CPU ratio':>9} {'wall ratio':>10}"
        )
    for row in rows:
        print(
            f"{row['process']:9} {row['mode']:5} {row['bare_events_per_cpu_second']:14.1f} "
            f"{row['robusthep_events_per_cpu_second']:19.1f} {row['ratio']:9.3f} "
            f"{row['wall_ratio']:10.3f}"
        )
    scaling = None
    if "speedup" in parts:
        scaling = speedup("htautau", arguments.shard_events, arguments.repeats)
        print(
            f"2 shards × {scaling['events_per_shard']} events: 1 worker "
            f"{scaling['serial_seconds']:.1f} s, 2 workers "
            f"{scaling['two_workers_seconds']:.1f} s, speed-up {scaling['speedup']:.2f}×; "
            f"shard CPU {scaling['shard_cpu_seconds']:.1f} s, worker imports "
            f"{scaling['worker_import_cpu_seconds']:.1f} s CPU → on two idle cores "
            f"{scaling['idle_machine_projection']:.2f}×"
        )
    demo = demo_sample() if "demo" in parts else None
    mode_rows = modes(arguments.mode_events, arguments.mode_folder) if "modes" in parts else None
    if mode_rows:
        quantities = ("selected", "yield", "mean_n_jets", "mean_jet_all_pt", "mean_had_pt")
        quantities += ("median_mass_vis", "met_minus_true_rms")
        print(f"{'process':9} {'quantity':18} {'full':>12} {'fast':>12}")
        for name, row in mode_rows["full"]["processes"].items():
            for quantity in quantities:
                fast_value = mode_rows["fast"]["processes"][name][quantity]
                print(f"{name:9} {quantity:18} {row[quantity]:12.4g} {fast_value:12.4g}")
    if demo:
        print(
            f"demo sample (quick): {demo['seconds']:.1f} s on 2 workers, "
            f"{demo['selected_events']} events; cached call {demo['cached_seconds']:.3f} s"
        )
    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.1f} (cores: {os.cpu_count()})")
    result = {
        "overhead": rows,
        "two_shard_speedup": scaling,
        "demo": demo,
        "modes": mode_rows,
        "wjets_overhead": wjets_rows,
        "wjets_demo": wjets_demo_result,
        "wjets_physics": physics,
        "btrigger_overhead": btrigger_rows,
        "btrigger_physics": btrigger_sample,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": load,
            "python": platform.python_version(),
        },
        "command": "python benchmarks/bench_sim.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(arguments).items()),
    }
    arguments.json.parent.mkdir(parents=True, exist_ok=True)
    arguments.json.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {arguments.json}")


if __name__ == "__main__":
    main()
