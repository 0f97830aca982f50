"""The seeds' agents tables (configs/postgres/schema.sql) as unmanaged models, for the django-async app.

Only settings_async installs this app; the sync app has no models and never imports
this module. managed = False: the harness creates and seeds the tables, Django only
reads them. Just the columns the agents query reads are declared.
"""

from django.db import models


class Agent(models.Model):
    number = models.CharField(max_length=40)

    class Meta:
        managed = False
        db_table = "agentfeatures"


class AgentLoginStatus(models.Model):
    # agent_id is this table's primary key, so the reverse relation is one-to-one: the
    # LEFT JOIN keeps one row per agent, as in the raw query.
    agent = models.OneToOneField(Agent, models.DO_NOTHING, primary_key=True, db_column="agent_id",
                                 related_name="login")
    extension = models.CharField(max_length=80)
    context = models.CharField(max_length=80)
    state_interface = models.CharField(max_length=128)

    class Meta:
        managed = False
        db_table = "agent_login_status"
