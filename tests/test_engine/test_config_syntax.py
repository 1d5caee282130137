"""A config that does not parse is named with its file and line."""
import pytest

from mmdet_eca.engine import load_config
from mmdet_eca.engine.config_syntax import syntax_problem
from mmdet_eca.errors import ConfigError

BROKEN = "model = dict(\n    type='MaskRCNN',\n    backbone=dict(depth=18)\n"


def test_top_file(tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text(BROKEN)
    with pytest.raises(ConfigError) as err:
        load_config(str(config))
    assert str(err.value) == (
        f"{config}, line 1 column 13: invalid Python syntax ('(' was never "
        'closed); fix the config file')


def test_base_file(tmp_path):
    (tmp_path / 'base').mkdir()
    (tmp_path / 'base' / 'model.py').write_text('x = 1\ny = [1, 2\n')
    (tmp_path / 'other.py').write_text('z = 2\n')
    config = tmp_path / 'cfg.py'
    config.write_text("_base_ = ['other.py', 'base/model.py']\nw = 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(str(config))
    assert str(err.value) == (
        f"{tmp_path}/base/model.py, line 2 column 5: invalid Python syntax "
        f"('[' was never closed); fix the config file (a _base_ of "
        f'{config})')


def test_valid_configs_and_package_bases_pass(tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text("_base_ = 'mmdet::_base_/default_runtime.py'\nx = 1\n")
    assert syntax_problem(str(config)) is None
    assert load_config(str(config)).x == 1
