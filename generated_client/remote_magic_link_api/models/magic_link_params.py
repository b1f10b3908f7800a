from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="MagicLinkParams")


@_attrs_define
class MagicLinkParams:
    """
    Attributes:
        user_id (UUID | Unset): A company admin's user id. Exclusive with `employment_id`.
        employment_id (UUID | Unset): An employee's employment id. Exclusive with `user_id`.
        path (str | Unset): Where the link lands; starts with `/`, no trailing `/`, segments of letters, digits, `_` and
            `-`. Default: '/dashboard'.
    """

    user_id: UUID | Unset = UNSET
    employment_id: UUID | Unset = UNSET
    path: str | Unset = "/dashboard"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        user_id: str | Unset = UNSET
        if not isinstance(self.user_id, Unset):
            user_id = str(self.user_id)

        employment_id: str | Unset = UNSET
        if not isinstance(self.employment_id, Unset):
            employment_id = str(self.employment_id)

        path = self.path

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if user_id is not UNSET:
            field_dict["user_id"] = user_id
        if employment_id is not UNSET:
            field_dict["employment_id"] = employment_id
        if path is not UNSET:
            field_dict["path"] = path

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _user_id = d.pop("user_id", UNSET)
        user_id: UUID | Unset
        if isinstance(_user_id, Unset):
            user_id = UNSET
        else:
            user_id = UUID(_user_id)

        _employment_id = d.pop("employment_id", UNSET)
        employment_id: UUID | Unset
        if isinstance(_employment_id, Unset):
            employment_id = UNSET
        else:
            employment_id = UUID(_employment_id)

        path = d.pop("path", UNSET)

        magic_link_params = cls(
            user_id=user_id,
            employment_id=employment_id,
            path=path,
        )

        magic_link_params.additional_properties = d
        return magic_link_params

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
