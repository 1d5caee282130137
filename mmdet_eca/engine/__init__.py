"""What configs name (hooks, ``SafeRunner``) and the tools' shared
command-line plumbing (:mod:`.defaults`)."""
from .checks import (check_annotation_format, check_checkpoint_path,
                     check_data, check_pretrained, check_test_files,
                     check_train_files, coco_problem)
from .class_count import class_count_problem, head_class_counts
from .config_syntax import syntax_problem
from .defaults import (add_debug_argument, add_runner_arguments,
                       build_runner, check_checkpoint_fits, error_line,
                       load_config, parse_runner_args, run_tool,
                       setup_test_config, setup_train_config)
from .dist import close_distributed, setup_cpu_distributed
from .explain import explain_build_error, explained
from .hooks import (AtomicCheckpointHook, CheckedLoadHook, ClassCountHook,
                    FuseECAPluginsHook, RandomStateHook, ScaleLRHook,
                    capture_rng_state, restore_rng_state)
from .image_check import check_images, image_problem
from .loading import (check_weights, load_weights, misfit, read_checkpoint,
                      resumable_problem)
from .pretrained_check import check_pretrained_backbone
from .runner import SafeRunner
from .safe_load import allow_mmengine_checkpoints, checkpoint_safe_globals

__all__ = [
    'AtomicCheckpointHook', 'CheckedLoadHook', 'ClassCountHook',
    'FuseECAPluginsHook', 'RandomStateHook', 'SafeRunner', 'ScaleLRHook',
    'add_debug_argument',
    'add_runner_arguments', 'allow_mmengine_checkpoints', 'build_runner',
    'capture_rng_state', 'check_annotation_format', 'check_checkpoint_fits',
    'check_checkpoint_path', 'check_data', 'check_images', 'check_pretrained',
    'check_pretrained_backbone',
    'check_test_files', 'check_train_files', 'check_weights',
    'checkpoint_safe_globals', 'class_count_problem', 'close_distributed',
    'coco_problem', 'error_line', 'explain_build_error', 'explained',
    'head_class_counts', 'image_problem', 'load_config', 'load_weights',
    'misfit', 'parse_runner_args', 'read_checkpoint', 'restore_rng_state',
    'resumable_problem', 'run_tool', 'setup_cpu_distributed',
    'setup_test_config', 'setup_train_config', 'syntax_problem'
]
