"""The one-line messages of mmdet_eca.engine.defaults and .explain,
without running a tool."""
import pytest
from mmdet.registry import MODELS
from mmengine.config import Config

from mmdet_eca import ECAResNet, ECAResNetV1d
from mmdet_eca.engine import error_line, explain_build_error, run_tool
from mmdet_eca.errors import ConfigError, DataError
from mmdet_eca.engine.explain import init_arguments


def test_input_errors_are_shown_as_they_are():
    assert error_line(DataError('image x.png not found')) == \
        'image x.png not found'
    assert error_line(KeyError('no such key')) == 'no such key'  # no quotes


def test_other_errors_name_their_type_and_point_to_debug():
    assert error_line(ZeroDivisionError('division by zero')) == (
        'ZeroDivisionError: division by zero (run with --debug for the '
        'traceback)')


def test_dataloader_worker_tracebacks_are_cut_to_their_last_line():
    wrapped = AssertionError(
        'Caught AssertionError in DataLoader worker process 0.\n'
        'Original Traceback (most recent call last):\n'
        '  File "loading.py", line 1, in transform\n'
        'AssertionError: failed to load image: data/train/7.jpg\n')
    assert error_line(wrapped) == (
        'image data/train/7.jpg could not be decoded: expected an image '
        'file (corrupt, or another format?)')
    other = RuntimeError('Caught ZeroDivisionError in DataLoader worker '
                         'process 1.\nOriginal Traceback ...\n'
                         'ZeroDivisionError: division by zero\n')
    assert error_line(other) == ('ZeroDivisionError: division by zero (run '
                                 'with --debug for the traceback)')


def test_run_tool_exit_status(capsys):
    assert run_tool(lambda: None) == 0

    def fail():
        raise ConfigError('cfg.py: model.backbone (ECAResNet): bad')

    assert run_tool(fail) == 1
    assert capsys.readouterr().err == \
        'error: cfg.py: model.backbone (ECAResNet): bad\n'
    assert run_tool(fail, debug=True) == 1
    err = capsys.readouterr().err
    assert err.startswith('Traceback') and err.endswith(': bad\n')

    def interrupt():
        raise KeyboardInterrupt

    assert run_tool(interrupt) == 130


def test_init_arguments_follow_kwargs_to_the_base_class():
    names = init_arguments(ECAResNetV1d)
    assert names[:3] == ['eca_kernel_sizes', 'depth', 'eca_gamma']
    assert {'frozen_stages', 'norm_cfg', 'init_cfg'} <= set(names)
    assert 'kwargs' not in names and 'self' not in names
    assert init_arguments(ECAResNet)[0] == 'depth'


def test_explain_names_the_config_entry(tmp_path):
    path = tmp_path / 'my_config.py'
    path.write_text("model = dict(type='ECAResNet', depth=18, "
                    'frozen_stage=1)\n')
    cfg = Config.fromfile(path)
    with pytest.raises(TypeError) as error:
        MODELS.build(cfg.model)
    assert str(explain_build_error(error.value, cfg)) == (
        f'{path}: model (ECAResNet): unknown argument frozen_stage=1; did '
        'you mean frozen_stages?')
    assert explain_build_error(ValueError('not from a build'), cfg) is None
