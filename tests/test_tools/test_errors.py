"""Bad input to tools/train.py, tools/test.py and tools/infer.py: one line
naming the culprit, exit status 1, nothing half-written, and a traceback
only with --debug. The messages here are the README's troubleshooting
table."""
import itertools
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules

import mmdet_eca  # noqa: F401  (registers the backbones)
from tiny_runs import tiny_config
from tool_modules import load_tool

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs/demo/mask_rcnn_ecanet18_fpn_shapes_demo.py')
EXPECTED_K = ("expected 4 odd kernel sizes (e.g. '3557' or (3, 5, 5, 7)) or "
              "'adaptive'")
COCO = ("expected COCO JSON: an object with 'images', 'annotations' and "
        "'categories' lists")


train_tool, test_tool, infer_tool = (load_tool(n) for n in ('train', 'test',
                                                            'infer'))
_config_ids = itertools.count()


def write_config(folder, name, data_root, edit=None):
    # MMEngine names a run's logger after the config file and the second;
    # a name used again within a second would reuse the logger of an
    # earlier test, whose captured stream pytest has closed since
    name = f'{name}_{next(_config_ids)}'
    cfg = tiny_config(DEMO, data_root, osp.join(folder, f'work_{name}'))
    if edit is not None:
        edit(cfg)
    path = osp.join(folder, f'{name}.py')
    cfg.dump(path)
    return path


def backbone(**changes):
    return lambda cfg: cfg.model.backbone.update(changes)


@pytest.fixture(scope='module')
def files(shapes_data, tmp_path_factory):
    """A config, a checkpoint of its model (weights only) and bad copies."""
    root = str(tmp_path_factory.mktemp('errors'))
    config = write_config(root, 'good', shapes_data)
    register_all_modules(init_default_scope=False)
    cfg = tiny_config(DEMO, shapes_data, root)
    weights = osp.join(root, 'weights.pth')
    torch.save({
        'meta': {},
        'state_dict': MODELS.build(cfg.model).state_dict()
    }, weights)
    text = osp.join(root, 'text.pth')
    with open(text, 'w') as f:
        f.write('not a checkpoint\n')
    truncated = osp.join(root, 'truncated.pth')
    with open(weights, 'rb') as src, open(truncated, 'wb') as dst:
        dst.write(src.read()[:osp.getsize(weights) // 2])
    foreign = osp.join(root, 'foreign.pth')
    torch.save({'state_dict': {'fc.weight': torch.zeros(2, 2)}}, foreign)
    return SimpleNamespace(
        root=root, data=str(shapes_data), config=config, weights=weights,
        text=text, truncated=truncated, foreign=foreign)


def error_line(capsys):
    """The one error line on stderr; there must be no traceback."""
    out, err = capsys.readouterr()
    assert 'Traceback' not in out + err
    lines = [line for line in err.splitlines() if line.startswith('error')]
    assert len(lines) == 1, err[-2000:]
    return lines[0]


def run(tool, argv, capsys):
    assert tool.main(argv) == 1
    return error_line(capsys)


# config ------------------------------------------------------------------


def test_missing_config(files, capsys):
    missing = osp.join(files.root, 'missing.py')
    assert run(train_tool, [missing], capsys) == \
        f'error: config file {missing} not found'


@pytest.mark.parametrize('changes, message', [
    (dict(eca_kernel_size=3), 'unknown argument eca_kernel_size=3; did you '
     'mean eca_kernel_sizes?'),
    (dict(eca_kernel_sizes='3556'),
     f"eca_kernel_sizes='3556' contains 6: {EXPECTED_K}"),
    (dict(eca_kernel_sizes='3507'),
     f"eca_kernel_sizes='3507' contains 0: {EXPECTED_K}"),
    (dict(eca_kernel_sizes='357'),
     f"eca_kernel_sizes='357' has 3 entries: {EXPECTED_K}"),
    (dict(eca_kernel_sizes='35x7'),
     f"eca_kernel_sizes='35x7' is invalid: {EXPECTED_K}"),
    (dict(depth=42), 'invalid depth 42 for ECAResNet: expected one of '
     '[18, 34, 50, 101, 152]'),
],
                         ids=['typo', 'even', 'zero', 'length', 'letters',
                              'depth'])
def test_bad_backbone_argument(files, capsys, changes, message):
    config = write_config(files.root, 'bad_backbone', files.data,
                          backbone(**changes))
    assert run(train_tool, [config], capsys) == \
        f'error: {config}: model.backbone (ECAResNet): {message}'


def test_misspelt_type(files, capsys):
    config = write_config(files.root, 'bad_type', files.data,
                          backbone(type='ECAResNett'))
    assert run(train_tool, [config], capsys) == (
        f"error: {config}: model.backbone (ECAResNett): unknown type "
        "'ECAResNett' (not in the mmdet::model registry); did you mean "
        "'ECAResNet'?")


# data --------------------------------------------------------------------


@pytest.fixture
def data(files, tmp_path):
    """A copy of the tiny dataset to break."""
    root = tmp_path / 'data'
    shutil.copytree(files.data, root)
    return root


def test_missing_annotation_file(files, data, capsys):
    os.remove(data / 'annotations' / 'instances_train.json')
    line = run(train_tool, [write_config(str(data.parent), 'c', data)], capsys)
    assert line == (
        f"error: annotation file {data}/annotations/instances_train.json not "
        'found (train_dataloader.dataset.ann_file); point data_root, ann_file '
        'and data_prefix in the config (or --cfg-options) at your dataset')


def test_missing_coco_files_say_where_coco_goes(files, tmp_path, capsys):
    config = write_config(str(tmp_path), 'coco', str(tmp_path / 'coco'))
    line = run(train_tool, [config], capsys)
    assert line.endswith(
        'COCO 2017 is expected as data/coco/annotations/instances_{train,val}'
        '2017.json with the images in data/coco/train2017/ and '
        'data/coco/val2017/ (download it from the COCO website, or point the '
        'config at your copy with --cfg-options or data_root)')


def test_missing_image_folder(files, data, capsys):
    shutil.rmtree(data / 'train')
    line = run(train_tool, [write_config(str(data.parent), 'c', data)], capsys)
    assert line.startswith(f'error: image folder {data}/train/ not found '
                           '(train_dataloader.dataset.data_prefix.img); '
                           'point data_root')


@pytest.mark.parametrize('content, problem', [
    ('[1, 2]', f'holds a JSON list; {COCO}'),
    ('{"images": [', 'is not valid JSON (Expecting value at line 1 column '
     f'13); {COCO}'),
    ('without images', "has no 'images' (its keys: 'annotations', "
     f"'categories'); {COCO}"),
],
                         ids=['list', 'invalid', 'no-images'])
def test_training_annotations_not_coco(files, data, capsys, content,
                                       problem):
    ann = data / 'annotations' / 'instances_train.json'
    if content == 'without images':
        coco = json.loads(ann.read_text())
        content = json.dumps({k: v for k, v in coco.items() if k != 'images'})
    ann.write_text(content)
    assert run(train_tool, [write_config(str(data.parent), 'c', data)],
               capsys) == f'error: annotation file {ann} {problem}'


def test_validation_annotations_without_annotations(files, data, capsys):
    ann = data / 'annotations' / 'instances_val.json'
    coco = json.loads(ann.read_text())
    ann.write_text(json.dumps({k: v for k, v in coco.items()
                               if k != 'annotations'}))
    # it would load, and evaluate to nothing, if not checked first
    config = write_config(str(data.parent), 'c', data)
    assert run(train_tool, [config], capsys) == (
        f"error: annotation file {ann} has no 'annotations' (its keys: "
        f"'images', 'categories'); {COCO} (val_dataloader.dataset.ann_file)")


@pytest.mark.parametrize('damage, problem', [
    ('delete', 'not found'),
    ('empty', 'is empty'),
    ('text', 'is not an image (it does not decode)'),
])
def test_listed_image_missing_or_unreadable(files, data, capsys, damage,
                                            problem):
    image = data / 'train' / '000002.png'
    if damage == 'delete':
        image.unlink()
    else:
        image.write_text('' if damage == 'empty' else 'not an image')
    config = write_config(str(data.parent), 'c', data)
    assert run(train_tool, [config], capsys) == (
        f'error: image {image} {problem}, listed in '
        f'{data}/annotations/instances_train.json')
    work_dirs = list(data.parent.glob('work_c_*'))
    assert len(work_dirs) == 1 and not list(work_dirs[0].glob('*.pth'))


def test_corrupt_image_in_a_loader_worker(files, data, capsys):
    # a PNG that starts right passes the check; the loader worker fails on
    # it, and the worker's traceback must not reach the user
    image = data / 'train' / '000002.png'
    image.write_bytes(image.read_bytes()[:60])

    def one_worker(cfg):
        cfg.train_dataloader.num_workers = 1

    config = write_config(str(data.parent), 'c', data, one_worker)
    assert run(train_tool, [config], capsys) == (
        f'error: image {image} could not be decoded: expected an image file '
        '(corrupt, or another format?)')


# checkpoints ---------------------------------------------------------------


def test_not_a_checkpoint(files, capsys):
    assert run(test_tool, [files.config, files.text], capsys) == (
        f'error: {files.text}: is not a PyTorch checkpoint (torch.save '
        'file); expected e.g. a .pth or .pth.tar')


def test_truncated_checkpoint(files, capsys):
    line = run(test_tool, [files.config, files.truncated], capsys)
    assert line.startswith(
        f'error: {files.truncated}: is truncated or corrupted (an '
        'interrupted download?); torch.load failed with RuntimeError: '
        'PytorchStreamReader failed reading zip archive')


def test_wrong_architecture(files, tmp_path, capsys):
    config = write_config(files.root, 'narrow_neck', files.data,
                          lambda cfg: cfg.model.neck.update(out_channels=32))
    out = tmp_path / 'results.pkl'
    line = run(test_tool, [config, files.weights, '--out', str(out)], capsys)
    assert line == (
        f'error: {files.weights}: does not fit the model: '
        'neck.lateral_convs.0.conv.weight has shape [64, 32, 1, 1] in the '
        'checkpoint but [32, 32, 1, 1] in the model (23 more weights differ '
        'in shape); was it trained with another config?')
    assert not out.exists()


def test_checkpoint_of_another_kind_of_model(files, capsys):
    assert run(test_tool, [files.config, files.foreign], capsys) == (
        f'error: {files.foreign}: does not fit the model: they share no '
        "weight (the checkpoint has 1, e.g. 'fc.weight'; the model 116, e.g. "
        "'backbone.conv1.weight'); was it saved from another kind of "
        'model?')


def test_wrong_eca_kernel_sizes(files, capsys):
    # the demo backbone is 'adaptive': 3355 for its 32..256 channels
    config = write_config(files.root, 'k3333', files.data,
                          backbone(eca_kernel_sizes='3333'))
    assert run(test_tool, [config, files.weights], capsys) == (
        f'error: {files.weights}: ECA kernel sizes differ between checkpoint '
        "and model: the checkpoint has eca_kernel_sizes='3355', the model "
        "was built with '3333' (first mismatch in layer3); set "
        "backbone.eca_kernel_sizes='3355' in the config")


def test_resume_from_weights_only(files, capsys):
    assert run(train_tool, [files.config, '--resume', files.weights],
               capsys) == (
        f"error: {files.weights}: holds no training state ('meta' with "
        "epoch and iter, 'message_hub'), only weights: it cannot be resumed "
        'from; start from its weights with --cfg-options load_from=<file>')


def test_missing_checkpoint(files, capsys):
    missing = osp.join(files.root, 'missing.pth')
    assert run(test_tool, [files.config, missing], capsys) == \
        f'error: checkpoint {missing} not found'


class RunsCode:

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_checkpoint_that_would_run_code(files, tmp_path, capsys):
    marker = tmp_path / 'code-ran'
    evil = str(tmp_path / 'evil.pth')
    checkpoint = torch.load(files.weights)
    checkpoint['meta'] = RunsCode(marker)
    torch.save(checkpoint, evil)
    refused = (f'error: {evil}: holds Python objects other than weights, '
               'which weights-only loading refuses to run')
    assert run(test_tool, [files.config, evil], capsys).startswith(refused)
    assert run(train_tool, [files.config, '--resume', evil],
               capsys).startswith(refused)
    assert run(infer_tool, [
        osp.join(files.data, 'val'), files.config, evil, '--out-dir',
        str(tmp_path / 'vis')
    ], capsys).startswith(refused)
    assert not marker.exists()
    assert not (tmp_path / 'vis').exists()


def test_infer_refuses_a_checkpoint_that_does_not_fit(files, tmp_path,
                                                      capsys):
    config = write_config(files.root, 'k3333', files.data,
                          backbone(eca_kernel_sizes='3333'))
    out_dir = tmp_path / 'vis'
    line = run(infer_tool, [
        osp.join(files.data, 'val'), config, files.weights, '--out-dir',
        str(out_dir)
    ], capsys)
    assert line.startswith(f'error: {files.weights}: ECA kernel sizes differ')
    assert not out_dir.exists()


# as a user runs them ---------------------------------------------------------


def tool_process(args):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    return subprocess.run([sys.executable] + args, cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


def last_line(text):
    return [line for line in text.splitlines() if line.strip()][-1]


def test_process_exit_status_and_stderr(files):
    config = write_config(files.root, 'typo', files.data,
                          backbone(eca_kernel_size=3))
    proc = tool_process(['tools/train.py', config])
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stdout + proc.stderr
    assert last_line(proc.stderr) == (
        f'error: {config}: model.backbone (ECAResNet): unknown argument '
        'eca_kernel_size=3; did you mean eca_kernel_sizes?')


def test_debug_shows_the_traceback(files, tmp_path):
    proc = tool_process([
        'tools/test.py', files.config, files.truncated, '--debug', '--out',
        str(tmp_path / 'out.pkl')
    ])
    assert proc.returncode == 1
    assert 'Traceback (most recent call last)' in proc.stderr
    assert last_line(proc.stderr).startswith(
        f'error: {files.truncated}: is truncated or corrupted')
    assert not (tmp_path / 'out.pkl').exists()
