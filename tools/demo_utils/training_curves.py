"""Loss and learning-rate curves from an MMEngine training log."""
import json
from typing import Dict, List

import matplotlib

matplotlib.use('Agg')  # draw to files, also on machines without a display
import matplotlib.pyplot as plt  # noqa: E402


def read_scalars(scalars_json: str) -> List[Dict]:
    """Training records of ``vis_data/scalars.json`` (one JSON per line).

    Validation records (which carry no ``loss``) are left out.
    """
    records = []
    with open(scalars_json) as f:
        for line in f:
            line = line.strip()
            if line:
                record = json.loads(line)
                if 'loss' in record and 'lr' in record:
                    records.append(record)
    if not records:
        raise ValueError(f'{scalars_json}: no training records with loss '
                         'and lr in it')
    return records


def plot_training_curves(scalars_json: str, out_file: str) -> None:
    """Save a PNG with the losses and the learning rate against iteration.

    Args:
        scalars_json (str): ``<work_dir>/<timestamp>/vis_data/scalars.json``
            written by MMEngine's LoggerHook during training.
        out_file (str): PNG to write.
    """
    records = read_scalars(scalars_json)
    steps = [r['step'] for r in records]
    loss_keys = sorted(k for k in records[0]
                       if k.startswith('loss') and k != 'loss')
    # a short run logs a handful of points: show them, not only lines
    marker = 'o' if len(records) < 20 else None
    fig, (ax_loss, ax_lr) = plt.subplots(
        2, 1, figsize=(8, 7), sharex=True,
        gridspec_kw=dict(height_ratios=[2, 1]))
    ax_loss.plot(steps, [r['loss'] for r in records], label='loss (total)',
                 linewidth=2, color='black', marker=marker)
    for key in loss_keys:
        ax_loss.plot(steps, [r.get(key, float('nan')) for r in records],
                     label=key, linewidth=1, marker=marker)
    ax_loss.set_yscale('log')
    ax_loss.set_ylabel('loss')
    ax_loss.legend(fontsize=8)
    ax_loss.grid(alpha=0.3)
    ax_lr.plot(steps, [r['lr'] for r in records], color='tab:red',
               marker=marker)
    ax_lr.set_ylabel('learning rate')
    ax_lr.set_xlabel('iteration')
    ax_lr.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
