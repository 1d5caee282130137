"""Shrink a shipped config to a run of seconds on a tiny shapes dataset.

Only data, image scale, class count and schedule change: the model, the
hooks and the optimizer stay those of the shipped config.
"""
from mmengine.config import Config

from demo_utils import inner_dataset, shrink_config, use_shapes_data

TINY_SCALE = (96, 96)


def tiny_config(config_file, data_root, work_dir, batch_size=2,
                max_epochs=1) -> Config:
    """``config_file`` on ``data_root`` (from ``generate_shapes_dataset``),
    trained for ``max_epochs`` epochs from scratch, logs in ``work_dir``."""
    cfg = Config.fromfile(config_file)
    cfg.work_dir = str(work_dir)
    cfg.launcher = 'none'
    cfg.model.backbone.init_cfg = None  # no pretrained weights here
    use_shapes_data(cfg, str(data_root))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[key]
        loader.batch_size = batch_size
        loader.num_workers = 0
        loader.persistent_workers = False
        inner_dataset(loader.dataset).pop('backend_args', None)
    shrink_config(cfg, TINY_SCALE[0])
    cfg.train_cfg = dict(
        type='EpochBasedTrainLoop', max_epochs=max_epochs,
        val_interval=max_epochs)
    cfg.default_hooks.logger.interval = 1
    # every epoch's checkpoint kept; the config's hook type stays
    cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=-1)
    return cfg
