from typing import Any

from django import forms

from studio.accounts.models import Team
from studio.projects.models import Project


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name"]
        error_messages = {"name": {"required": "Give the project a name."}}

    def __init__(self, *args: Any, team: Team | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if Project.objects.filter(team=self.team, name__iexact=name).exists():
            raise forms.ValidationError("This team already has a project with that name.")
        return name
