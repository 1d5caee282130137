# Faster R-CNN ECA-ResNet-50 as the ECA-Net authors released it
# (faster_rcnn_ecanet50_k5_bs8_lr0.01, github.com/BangguWu/ECANet: 38.0 box
# AP on COCO val2017) with MMDetection 1.x's inference settings:
# MMDetection's own legacy_1.x config (LegacyAnchorGenerator,
# LegacyDeltaXYWHBBoxCoder, RoIAlign aligned=False) with the backbone
# swapped, and mmdet_eca's runtime (see _base_/eca_runtime.py). It loads
# the file tools/convert_eca_weights.py writes from the release (README).
# MMEngine reads 'pkg::dir/...' only where dir is a plain word, which
# 'legacy_1.x' is not; the detour through _base_ names the same file.
_base_ = [
    'mmdet::_base_/../legacy_1.x/faster-rcnn_r50_fpn_1x_coco_v1.py',
    '../_base_/eca_runtime.py'
]
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

model = dict(
    backbone=dict(
        type='ECAResNet',
        depth=50,
        # "k5": the release's code takes one k per stage, so k=5 in all four
        # (the converter prints the sizes it reads off the file's tensors)
        eca_kernel_sizes='5555',
        # the detector checkpoint holds the backbone too
        init_cfg=None))
