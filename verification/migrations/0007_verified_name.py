from django.db import migrations, models


class Migration(migrations.Migration):
    """The name an organisation vouched for, on each government profile (filled for the
    profiles held now by 0008)."""

    dependencies = [
        ('verification', '0006_index_of_profiles_asked_to_confirm'),
    ]

    operations = [
        migrations.AddField(
            model_name='governmentprofile',
            name='verified_name',
            field=models.CharField(blank=True, max_length=150, verbose_name='verified name'),
        ),
    ]
