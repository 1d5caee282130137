from .checks import (MissingFileError, check_data, check_pretrained,
                     check_test_files, check_train_files)
from .dist import setup_cpu_distributed
from .runner import (build_runner, load_config, setup_test_config,
                     setup_train_config)
from .safe_load import allow_mmengine_checkpoints, checkpoint_safe_globals

__all__ = [
    'MissingFileError', 'allow_mmengine_checkpoints', 'build_runner',
    'check_data', 'check_pretrained', 'check_test_files', 'check_train_files',
    'checkpoint_safe_globals', 'load_config', 'setup_cpu_distributed',
    'setup_test_config', 'setup_train_config'
]
