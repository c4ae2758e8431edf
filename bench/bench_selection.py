"""Benchmark of the exact selection (``Policy.OPTIMAL``) on realistic synthetic windows.

    python bench/bench_selection.py [--sizes 2000 10000] [--repeat 3] [--seed 2026] [--naive]

Data (seeded): scores on a tenths grid (30.0–100.0), requests 100,000–2,000,000 KGS in tiyin,
seven territories of uneven size, about 25% women-led and 30% youth-led organisations, a few
organisations with two proposals; budget ≈ 20% of all requests; quotas: women-led at least 30%
of the budget, every territory at most 22% of it, one award per organisation. Prints wall-clock
figures (no asserts) and the rank-with-skipping baseline's total score next to the exact one.
``--naive`` also times one plain ``milp`` call on the same data (no reductions, no second stage).

Two more kinds of window per size and seed (``--kinds``; docs/performance.md):

- ``partial``: the same window with partial funding at an 80% floor (stages 1, 2 and 3);
- ``contradictory``: quotas that cannot all hold — women-led at least 30% of the budget while
  all awards together are capped at 25% of it, and a 99% floor: the time to the
  ``InfeasibleQuotas`` diagnosis (issue 12: such a diagnosis once ran 600 s).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import replace
from fractions import Fraction

from scoring.selection import (
    Candidate,
    InfeasibleQuotas,
    Policy,
    Quota,
    SelectionConfig,
    select,
)

TERRITORIES = ("alamedin", "sokuluk", "osh", "uzgen", "jalal-abad", "batken", "razzakov")
TERRITORY_WEIGHTS = (0.2, 0.18, 0.22, 0.1, 0.14, 0.08, 0.08)


def window(n: int, seed: int) -> tuple[list[Candidate], SelectionConfig]:
    rng = random.Random(f"{seed}-{n}")  # noqa: S311  (benchmark data, not a secret)
    orgs = [f"org-{k}" for k in range(int(n * 0.85))]
    cands = []
    for i in range(n):
        org = orgs[i] if i < len(orgs) else rng.choice(orgs)
        cands.append(
            Candidate(
                id=f"P{i:05d}",
                cost=rng.randint(100_000, 2_000_000) * 100,
                score=Fraction(rng.randint(300, 1000), 10),
                priority=0,
                organisation=org,
                territory=rng.choices(TERRITORIES, TERRITORY_WEIGHTS)[0],
                women_led=rng.random() < 0.25,
                youth_led=rng.random() < 0.30,
            )
        )
    # priority: rank by score, ties by a seeded lottery (as ranking would)
    lottery = {c.id: rng.random() for c in cands}
    ordered = sorted(cands, key=lambda c: (-c.score, lottery[c.id]))
    cands = [replace(c, priority=k) for k, c in enumerate(ordered)]
    rng.shuffle(cands)
    budget = sum(c.cost for c in cands) // 5
    quotas = (
        Quota("min_share_money", "women_led", Fraction(30, 100)),
        *(Quota("max_money", f"territory:{t}", budget * 22 // 100) for t in TERRITORIES),
        Quota("max_per_organisation", "any", 1),
    )
    return cands, SelectionConfig(Policy.OPTIMAL, budget, quotas)


def variant(kind: str, config: SelectionConfig) -> SelectionConfig:
    """The benchmark window of ``kind``: ``exact`` as built, ``partial`` with an 80% floor,
    ``contradictory`` with a cap on all awards below the women-led minimum, and a 99% floor."""
    if kind == "partial":
        return replace(config, partial_funding_floor_pct=80)
    if kind == "contradictory":
        cap = Quota("max_money", "any", config.budget * 25 // 100)
        return replace(config, quotas=(*config.quotas, cap), partial_funding_floor_pct=99)
    return config


def timed(cands: list[Candidate], config: SelectionConfig) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        result = select(cands, config)
    except InfeasibleQuotas as diagnosis:
        seconds = time.perf_counter() - start
        return seconds, f"infeasible: {diagnosis}; evidence: {' | '.join(diagnosis.evidence)}"
    seconds = time.perf_counter() - start
    s = result.solver
    return seconds, (
        f"funded {len(result.funded)}, total score {float(result.objective):.1f}, spent "
        f"{result.funded_total / 100:,.2f} KGS; free after the bound {s['stage1_free']}, MILP "
        f"solves {s['milp_solves']}, nodes {s['nodes']}, infeasible re-asked without presolve "
        f"{s['infeasible_rechecked_without_presolve']} (overruled "
        f"{s['presolve_infeasible_overruled']})"
    )


def naive(cands: list[Candidate], config: SelectionConfig) -> tuple[float, float]:
    """One plain milp over all candidates (stage 1 only), for comparison."""
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp

    cost = np.array([c.cost for c in cands], dtype=float)
    score = np.array([float(c.score) * 10 for c in cands])
    women = np.array([c.women_led for c in cands])
    rows, lo, hi = [cost], [-np.inf], [config.budget]
    rows.append(cost * women)
    lo.append(config.budget * 0.3)
    hi.append(np.inf)
    for t in TERRITORIES:
        rows.append(cost * np.array([c.territory == t for c in cands]))
        lo.append(-np.inf)
        hi.append(config.budget * 22 // 100)
    by_org: dict[str, list[int]] = {}
    for k, c in enumerate(cands):
        by_org.setdefault(c.organisation, []).append(k)
    for idx in by_org.values():
        if len(idx) > 1:
            row = np.zeros(len(cands))
            row[idx] = 1
            rows.append(row)
            lo.append(-np.inf)
            hi.append(1)
    start = time.perf_counter()
    res = milp(
        -score,
        integrality=np.ones(len(cands)),
        bounds=Bounds(0, 1),
        constraints=[LinearConstraint(np.array(rows), lo, hi)],
        options={"mip_rel_gap": 0, "time_limit": 600},
    )
    return time.perf_counter() - start, -res.fun / 10


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[2026, 1, 2, 3, 4])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per window (best kept)")
    parser.add_argument("--naive", action="store_true")
    parser.add_argument(
        "--kinds",
        nargs="+",
        default=["exact"],
        choices=["exact", "partial", "contradictory"],
        help="which windows: as built, with an 80%% floor, with contradictory quotas",
    )
    args = parser.parse_args()
    for kind in args.kinds:
        if kind == "exact":
            continue
        for n in args.sizes:
            bests = []
            for seed in args.seeds:
                cands, base = window(n, seed)
                config = variant(kind, base)
                runs = [timed(cands, config) for _ in range(args.repeat)]
                best = min(seconds for seconds, _ in runs)
                bests.append(best)
                print(f"{kind} n={n} seed={seed}: {best:.3f} s; {runs[0][1]}")
            print(
                f"{kind} n={n}: best-of-{args.repeat} times over {len(bests)} windows: min "
                f"{min(bests):.3f} s, median {statistics.median(bests):.3f} s, max "
                f"{max(bests):.3f} s"
            )
    if "exact" not in args.kinds:
        return
    for n in args.sizes:
        bests = []
        for seed in args.seeds:
            cands, config = window(n, seed)
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                result = select(cands, config)
                times.append(time.perf_counter() - start)
            bests.append(min(times))
            greedy = select(cands, replace(config, policy=Policy.RANK_WITH_SKIPPING))
            strict = select(cands, replace(config, policy=Policy.STRICT_FUNDING_LINE))
            unmet = [c.quota.describe() for c in greedy.quota_checks if not c.met]
            s = result.solver
            print(
                f"n={n} seed={seed}: optimal {min(times):.3f} s (median "
                f"{statistics.median(times):.3f}); funded {len(result.funded)}, total score "
                f"{float(result.objective):.1f}, spent {result.funded_total / 100:,.2f} of "
                f"{config.budget / 100:,.2f} KGS"
            )
            print(
                f"    solver: free after the bound {s['stage1_free']}, MILP solves "
                f"{s['milp_solves']}, nodes {s['nodes']}, probes cut by the bound "
                f"{s['probes_pruned_by_bound']}"
            )
            print(
                f"    rank with skipping: total score {float(greedy.objective):.1f}, funded "
                f"{len(greedy.funded)}; strict line: {float(strict.objective):.1f}, funded "
                f"{len(strict.funded)}; min quotas the greedy left unmet: "
                f"{', '.join(unmet) or 'none'}"
            )
            if args.naive:
                seconds, value = naive(cands, config)
                print(f"    one plain milp call (stage 1 only): {seconds:.3f} s, score {value:.1f}")
        print(
            f"n={n}: best-of-{args.repeat} times over {len(bests)} windows: min "
            f"{min(bests):.3f} s, median {statistics.median(bests):.3f} s, max {max(bests):.3f} s"
        )


if __name__ == "__main__":
    main()
