"""The attention variants of the transfer study (its end-to-end run, which
needs mmpretrain: tests/test_pretrain/test_transfer_study.py)."""
from attention_study.variants import variant_backbone, variant_model

ECA = dict(type='ECAResNet', depth=18, eca_kernel_sizes='adaptive')


def test_eca_identity_variant_sets_the_mode_and_others_drop_it():
    identity = variant_backbone(ECA, 'eca-identity')
    assert identity == dict(ECA, eca_identity_init=True)
    for variant, kind in (('none', 'ResNet'), ('se', 'SEResNet')):
        assert variant_backbone(identity, variant) == dict(
            type=kind, depth=18)
    # eca is the paper's ECA, whatever the config starts from: the
    # transfer config inserts ECA as the identity
    assert variant_backbone(identity, 'eca') == ECA
    assert variant_backbone(identity, 'eca-k3') == dict(
        ECA, eca_kernel_sizes='3333')
    plugin = dict(type='ResNet', depth=50, plugins=[
        dict(cfg=dict(type='ECA', identity_init=True),
             position='after_conv3')])
    assert variant_model(dict(backbone=plugin), 'eca')['backbone'][
        'plugins'] == [dict(cfg=dict(type='ECA'), position='after_conv3')]
    neck = dict(type='ECAFPN', eca_identity_init=True)
    assert variant_model(dict(backbone=dict(type='ResNet'), neck=neck),
                         'eca')['neck'] == dict(type='ECAFPN')
    assert variant_model(dict(backbone=dict(type='ResNet'), neck=neck),
                         'none')['neck'] == dict(type='FPN')

