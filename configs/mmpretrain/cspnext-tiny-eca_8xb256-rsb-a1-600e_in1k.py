# CSPNeXt-tiny with ECA in place of its C x C channel attention, on ImageNet:
# the RTMDet authors' own ImageNet recipe for the backbone (MMDetection's
# rtmdet/classification/cspnext-tiny_8xb256-rsb-a1-600e_in1k, an mmpretrain
# config) with only the backbone type changed. Its weights load into
# configs/rtmdet/rtmdet_tiny-eca_8xb32-300e_coco.py.
_base_ = 'mmdet::rtmdet/classification/cspnext-tiny_8xb256-rsb-a1-600e_in1k.py'
custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)

# MMEngine scopes what comes from an 'mmdet::' base to MMDetection; the
# classifier is mmpretrain's, as when `mim train mmpretrain` runs the recipe
model = dict(_scope_='mmpretrain', backbone=dict(type='mmdet.ECACSPNeXt'))
