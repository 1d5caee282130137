"""Build a detector from an MMDetection config and take one training step
on random images: what the tests of ECA in necks and in the real-time
detectors' backbones need."""
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope


def detector_config(config_file: str) -> Config:
    """``model`` of ``config_file`` (``mmdet::`` or a path), without
    pretrained weights."""
    cfg = Config.fromfile(config_file)
    model = cfg.model
    if model.backbone.get('init_cfg'):
        model.backbone.init_cfg = None
    return model


def build_detector(model_cfg):
    init_default_scope('mmdet')
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model


def training_step(model, size: int = 64, num_classes: int = 3):
    """One forward and backward of ``model`` on two random images with
    boxes; returns the losses' sum (already backpropagated)."""
    model.train()
    # YOLOX's batch resizing reads the iteration a Runner would record
    MessageHub.get_current_instance().update_info('iter', 0)
    data = demo_mm_inputs(
        batch_size=2, image_shapes=[(3, size, size)] * 2,
        num_items=[2, 3], num_classes=num_classes)
    batch = model.data_preprocessor(data, True)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    loss, _ = model.parse_losses(losses)
    loss.backward()
    return loss
