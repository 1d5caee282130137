# RegNetX-3.2GF with ECA after conv3 of every block, on ImageNet: mmpretrain's
# own regnetx-3.2gf_8xb64_in1k with its backbone replaced by MMDetection's
# RegNet carrying the ECA plugin (adaptive k of each stage's channels 96, 192,
# 432, 1008: 3, 5, 5, 5). Its weights load as they are into
# configs/eca_plugins/faster-rcnn_regnetx-3.2GF-eca_fpn_1x_coco.py.
_base_ = 'mmpretrain::regnet/regnetx-3.2gf_8xb64_in1k.py'
custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        type='mmdet.RegNet',
        arch='regnetx_3.2gf',
        out_indices=(3, ),
        # the scope: mmcv builds plugins from the default scope's registry
        plugins=[
            dict(cfg=dict(type='mmdet.ECA', inplace=True),
                 position='after_conv3')
        ]))
