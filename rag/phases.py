"""Phase timings of one command run: wall and CPU seconds per named step (``rag ask --timings``, the
cold-start table of ``rag bench``). CPU time is shown beside wall time because on a shared machine wall
time mostly measures the neighbours."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Phases:
    """Marks the end of each step; a step's time is from the previous mark."""

    rows: list[tuple[str, float, float]] = field(default_factory=list)  #: (name, wall s, cpu s)
    _wall: float = field(default_factory=time.perf_counter)
    _cpu: float = field(default_factory=time.process_time)

    def mark(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.rows.append((name, wall - self._wall, cpu - self._cpu))
        self._wall, self._cpu = wall, cpu

    def to_dict(self) -> dict[str, dict[str, float]]:
        return {name: {"wall_s": wall, "cpu_s": cpu} for name, wall, cpu in self.rows}

    def table(self) -> str:
        width = max((len(name) for name, _, _ in self.rows), default=5)
        lines = [f"{'phase':<{width}}  wall ms   cpu ms"]
        lines += [f"{name:<{width}}  {wall * 1000:7.0f}  {cpu * 1000:7.0f}" for name, wall, cpu in self.rows]
        total_wall = sum(r[1] for r in self.rows)
        total_cpu = sum(r[2] for r in self.rows)
        lines.append(f"{'total':<{width}}  {total_wall * 1000:7.0f}  {total_cpu * 1000:7.0f}")
        return "\n".join(lines)
