from .eca_fpn import ECAFPN, ECAPAFPN

__all__ = ['ECAFPN', 'ECAPAFPN']
