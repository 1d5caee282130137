# ResNeXt-50 (32x4d) with ECA after conv3 of every bottleneck, on ImageNet:
# mmpretrain's own resnext50-32x4d_8xb32_in1k with its backbone replaced by
# MMDetection's ResNeXt carrying the ECA plugin (adaptive k of each stage's
# channels: 5, 5, 5, 7). MMDetection's ResNeXt, not mmpretrain's: its weights
# then load as they are into a detector's ResNeXt with the same plugin
# (configs/eca_plugins/mask-rcnn_x101-32x4d-eca_fpn_1x_coco.py with depth=50).
_base_ = 'mmpretrain::resnext/resnext50-32x4d_8xb32_in1k.py'
custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        # mmpretrain's width_per_group is MMDetection's base_width
        _delete_=True,
        type='mmdet.ResNeXt',
        depth=50,
        groups=32,
        base_width=4,
        out_indices=(3, ),
        style='pytorch',
        # the scope: mmcv builds plugins from the default scope's registry,
        # which is mmpretrain's here
        plugins=[
            dict(cfg=dict(type='mmdet.ECA', inplace=True),
                 position='after_conv3')
        ]))
