#!/usr/bin/env perl
# slurm.pl: run.pl's interface, with the jobs sent to a Slurm cluster as one job array.
#
#   slurm.pl [options] [VAR=START:END | VAR=N] LOGFILE COMMAND [ARGS...]
#
# Writes one bash script per job under <log dir>/q/ (the job's command with VAR replaced by its
# number, run from the current directory after sourcing ./path.sh when there is one), submits
# them with `sbatch --wait --array=START-END`, and waits. Each job writes LOGFILE (VAR replaced)
# like run.pl does: the command, the start time, the output, and "# Ended (code N)". A job whose
# log does not end with code 0 (it failed, or Slurm killed it) fails the whole call: slurm.pl
# names its log on stderr and exits 1.
#
# Options:
#   --max-jobs-run N   at most N array tasks at a time (sbatch --array=...%N)
#   --num-threads N    --cpus-per-task N, and OMP_NUM_THREADS/MKL_NUM_THREADS=N in the job
#   --mem SIZE         --mem SIZE (e.g. 16G)
#   --gpu N            --gres=gpu:N
#   --time T           --time T (e.g. 24:00:00)
# Extra sbatch options (partition, account) go in the environment variable SBATCH_PARTITION,
# SBATCH_ACCOUNT, ... which sbatch itself reads.
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Basename qw(dirname basename);
use File::Path qw(make_path);

my %opt = ('max-jobs-run' => 0, 'num-threads' => 1, 'mem' => '', 'gpu' => 0, 'time' => '');
sub usage {
    print STDERR "usage: slurm.pl [--max-jobs-run N] [--num-threads N] [--mem SIZE] [--gpu N] [--time T] "
        . "[VAR=START:END] LOGFILE COMMAND [ARGS...]\n";
    exit 1;
}
while (@ARGV && $ARGV[0] =~ /^--/) {
    my $o = shift @ARGV;
    my $val;
    if ($o =~ /^--([\w-]+)=(.*)$/s) { ($o, $val) = ($1, $2); }
    else { usage() unless @ARGV; $o =~ s/^--//; $val = shift @ARGV; }
    if (!exists $opt{$o}) { print STDERR "slurm.pl: unknown option --$o\n"; usage(); }
    if ($o =~ /^(max-jobs-run|num-threads|gpu)$/ && $val !~ /^\d+$/) {
        print STDERR "slurm.pl: --$o needs a non-negative integer, got '$val'\n";
        exit 1;
    }
    $opt{$o} = $val;
}

my ($var, $start, $end) = (undef, 1, 1);
if (@ARGV && $ARGV[0] =~ /^([A-Za-z_]\w*)=(\d+)(?::(\d+))?$/) {
    ($var, $start, $end) = ($1, $2, defined $3 ? $3 : $2);
    shift @ARGV;
    if ($end < $start) { print STDERR "slurm.pl: empty job range $var=$start:$end\n"; exit 1; }
}
usage() if @ARGV < 2;
my $logfile = shift @ARGV;
if (defined $var && $end > $start && $logfile !~ /\b$var\b/) {
    print STDERR "slurm.pl: with $var=$start:$end the log file name must contain $var, got $logfile\n";
    exit 1;
}
my $cmd = join(' ', map {
    my $a = $_;
    if ($a =~ /^[^\s'"]+$/) { $a }
    else { (my $q = $a) =~ s/'/'\\''/g; "'$q'" }
} @ARGV);

sub subst {
    my ($s, $n) = @_;
    $s =~ s/\b$var\b/$n/g if defined $var;
    return $s;
}
sub shq { (my $q = $_[0]) =~ s/'/'\\''/g; return "'$q'"; }

my $cwd = getcwd();
my $qdir = dirname($logfile) . "/q";
(my $name = basename($logfile)) =~ s/\.log$//;
$name = subst($name, "x") if defined $var;
make_path($qdir);

for my $n ($start .. $end) {
    my $log = subst($logfile, $n);
    my $c = subst($cmd, $n);
    make_path(dirname($log));
    unlink $log;
    my $script = "$qdir/$name.$n.sh";
    open(my $fh, '>', $script) or die "slurm.pl: cannot write $script: $!\n";
    my $qlog = shq($log);
    print $fh <<"EOF";
#!/usr/bin/env bash
cd @{[shq($cwd)]} || exit 1
[ -f ./path.sh ] && . ./path.sh
export OMP_NUM_THREADS=$opt{'num-threads'} MKL_NUM_THREADS=$opt{'num-threads'}
t0=\$(date +%s)
{ echo @{[shq("# $c")]}; echo "# Started at \$(date) on \$(hostname)"; echo "#"; } > $qlog
( $c ) >> $qlog 2>&1
code=\$?
t1=\$(date +%s)
echo "# Accounting: time=\$((t1 - t0)) threads=$opt{'num-threads'}" >> $qlog
echo "# Ended (code \$code) at \$(date), elapsed time \$((t1 - t0)) seconds" >> $qlog
exit \$code
EOF
    close $fh;
}
my $array_script = "$qdir/$name.sh";
open(my $fh, '>', $array_script) or die "slurm.pl: cannot write $array_script: $!\n";
my $qabs = $qdir =~ m{^/} ? $qdir : "$cwd/$qdir";
print $fh "#!/usr/bin/env bash\nexec bash " . shq("$qabs/$name.") . "\"\$SLURM_ARRAY_TASK_ID\".sh\n";
close $fh;

my @sb = ('sbatch', '--wait', "--job-name=$name", "--output=$qdir/$name.%a.out",
          "--array=$start-$end" . ($opt{'max-jobs-run'} ? "%$opt{'max-jobs-run'}" : ''),
          "--cpus-per-task=$opt{'num-threads'}");
push @sb, "--mem=$opt{mem}" if $opt{mem} ne '';
push @sb, "--gres=gpu:$opt{gpu}" if $opt{gpu} > 0;
push @sb, "--time=$opt{time}" if $opt{time} ne '';
push @sb, $array_script;
my $rc = system(@sb);
if ($rc == -1) {
    print STDERR "slurm.pl: cannot run sbatch ($!): is this a Slurm submit host? Use run.pl in cmd.sh otherwise\n";
    exit 1;
}

my @failed;
for my $n ($start .. $end) {
    my $log = subst($logfile, $n);
    my $last = '';
    if (open(my $lf, '<', $log)) { while (<$lf>) { $last = $_ if /^# Ended \(code/; } close $lf; }
    push @failed, $n unless $last =~ /^# Ended \(code 0\)/;
}
if (@failed) {
    my $total = $end - $start + 1;
    print STDERR "slurm.pl: " . scalar(@failed) . " / $total jobs failed, log is in " . subst($logfile, $failed[0])
        . " (sbatch output: $qdir/$name.$failed[0].out)\n";
    print STDERR "slurm.pl: failed jobs: @failed\n" if @failed > 1;
    exit 1;
}
exit 0;
