# RetinaNet ECA-ResNet-50 as the ECA-Net authors released it
# (RetinaNet_ecanet50_k3377_bs8_lr0.01, github.com/BangguWu/ECANet: 37.3 box
# AP on COCO val2017), with MMDetection 1.x's inference settings:
# MMDetection's own legacy_1.x config (LegacyAnchorGenerator,
# LegacyDeltaXYWHBBoxCoder) with the backbone swapped. It loads the file
# tools/convert_eca_weights.py writes from the release (see README).
# MMEngine reads 'pkg::dir/...' only where dir is a plain word, which
# 'legacy_1.x' is not; the detour through _base_ names the same file.
_base_ = 'mmdet::_base_/../legacy_1.x/retinanet_r50_fpn_1x_coco_v1.py'
custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)
# the lr is written for 8 GPUs x 2 images: scale it to the real batch
custom_hooks = [dict(type='ScaleLRHook', base_batch_size=16)]

model = dict(
    backbone=dict(
        type='ECAResNet',
        depth=50,
        # the released detector's sizes, not the ImageNet release's 3557
        eca_kernel_sizes='3377',
        # the detector checkpoint holds the backbone too
        init_cfg=None))
