from contracts.enums import Role
from tests.conftest import MakeUser


async def test_me_returns_the_signed_in_user(make_user: MakeUser) -> None:
    person = await make_user(Role.AUDITOR)
    me = await person.client.get_me()
    assert me.email == person.user.email
    assert me.roles == [Role.AUDITOR]
