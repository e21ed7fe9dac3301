import factory
from django.contrib.auth.models import Group

from mes.models import User
from mes.roles import sync_role_groups

PASSWORD = "test-pass-123"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"员工 {n}")
    badge_code = factory.Sequence(lambda n: f"B-{n:05d}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if extracted:
            if Group.objects.filter(name__in=extracted).count() < len(set(extracted)):
                sync_role_groups()  # transactional tests flush the migration-made groups
            self.groups.set([Group.objects.get(name=r) for r in extracted])
        self.save()
