from .checkpoint_hook import AtomicCheckpointHook
from .checks import (MissingFileError, check_annotation_format, check_data,
                     check_pretrained, check_test_files, check_train_files,
                     coco_problem)
from .cli import add_runner_arguments, parse_runner_args
from .dist import close_distributed, setup_cpu_distributed
from .errors import (CheckpointError, ConfigError, DataError, error_line,
                     run_tool)
from .explain import explain_build_error, explained
from .image_check import check_images, image_problem
from .model_fit import (check_checkpoint_fits, load_weights, misfit,
                        read_checkpoint)
from .random_state import capture_rng_state, restore_rng_state
from .runner import (build_runner, load_config, setup_test_config,
                     setup_train_config)
from .safe_load import allow_mmengine_checkpoints, checkpoint_safe_globals
from .safe_runner import SafeRunner

__all__ = [
    'AtomicCheckpointHook', 'CheckpointError', 'ConfigError', 'DataError',
    'MissingFileError', 'SafeRunner', 'add_runner_arguments',
    'allow_mmengine_checkpoints', 'build_runner', 'capture_rng_state',
    'check_annotation_format', 'check_checkpoint_fits', 'check_data',
    'check_images', 'check_pretrained', 'check_test_files',
    'check_train_files', 'checkpoint_safe_globals', 'close_distributed',
    'coco_problem', 'error_line', 'explain_build_error', 'explained',
    'image_problem', 'load_config', 'load_weights', 'misfit',
    'parse_runner_args', 'read_checkpoint', 'restore_rng_state',
    'run_tool', 'setup_cpu_distributed', 'setup_test_config',
    'setup_train_config'
]
