#!/usr/bin/env perl
# run.pl: run a command on this machine, once or as an array of jobs, each logging to its own file.
#
#   run.pl [options] [VAR=START:END | VAR=N] LOGFILE COMMAND [ARGS...]
#
# With VAR=1:4 the command runs four times in parallel with every VAR in LOGFILE and in the
# arguments replaced by the job number (1..4), e.g.
#   run.pl JOB=1:4 exp/log/tok.JOB.log codeckit tokenize data/split4/JOB/wav.scp --out tok/JOB ...
# Each log gets the command line, the start time, everything the command printed, the exit code
# and the elapsed time. run.pl exits 0 only if every job exited 0; otherwise it names the failed
# jobs' logs on stderr and exits 1, so the calling stage fails.
#
# Arguments without whitespace or quotes are passed to bash as they are (so '|', '>' and '&&' given as
# separate arguments act as shell operators); arguments with whitespace are single-quoted.
#
# Options (the same as slurm.pl's, so cmd.sh can name either):
#   --max-jobs-run N   run at most N jobs at a time (default: all at once)
#   --num-threads N    threads per job: exported as OMP_NUM_THREADS and MKL_NUM_THREADS (default: left as is)
#   --mem SIZE, --gpu N, --time T
#                      resource requests for a queue; run.pl accepts and ignores them here
use strict;
use warnings;
use POSIX qw(strftime);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use Time::HiRes qw(time);

my $max_jobs = 0;
my $num_threads = 0;
sub usage {
    print STDERR "usage: run.pl [--max-jobs-run N] [--num-threads N] [VAR=START:END] LOGFILE COMMAND [ARGS...]\n";
    exit 1;
}
while (@ARGV && $ARGV[0] =~ /^--/) {
    my $opt = shift @ARGV;
    my $val;
    if ($opt =~ /^(--[\w-]+)=(.*)$/s) { ($opt, $val) = ($1, $2); }
    else { usage() unless @ARGV; $val = shift @ARGV; }
    if ($opt eq '--max-jobs-run') { $max_jobs = $val; }
    elsif ($opt eq '--num-threads') { $num_threads = $val; }
    elsif ($opt =~ /^--(mem|gpu|time)$/) { }
    else { print STDERR "run.pl: unknown option $opt\n"; usage(); }
    die "run.pl: $opt needs a non-negative integer, got '$val'\n"
        if $opt =~ /^--(max-jobs-run|num-threads)$/ && $val !~ /^\d+$/;
}

my ($var, $start, $end) = (undef, 1, 1);
if (@ARGV && $ARGV[0] =~ /^([A-Za-z_]\w*)=(\d+)(?::(\d+))?$/) {
    ($var, $start, $end) = ($1, $2, defined $3 ? $3 : $2);
    shift @ARGV;
    die "run.pl: empty job range $var=$start:$end\n" if $end < $start;
}
usage() if @ARGV < 2;
my $logfile = shift @ARGV;
if (defined $var && $end > $start && $logfile !~ /\b$var\b/) {
    die "run.pl: with $var=$start:$end the log file name must contain $var, got $logfile\n";
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

sub run_job {
    my ($n) = @_;
    my $log = subst($logfile, $n);
    my $c = subst($cmd, $n);
    make_path(dirname($log));
    open(my $fh, '>', $log) or die "run.pl: cannot write log $log: $!\n";
    my $t0 = time();
    print $fh "# $c\n# Started at " . strftime('%a %b %e %H:%M:%S %Z %Y', localtime) . "\n#\n";
    close $fh;
    if ($num_threads > 0) {
        $ENV{OMP_NUM_THREADS} = $num_threads;
        $ENV{MKL_NUM_THREADS} = $num_threads;
    }
    system('bash', '-c', "( $c ) >>'$log' 2>&1");
    my $status = $?;
    my $code = $status == -1 ? 127 : ($status & 127) ? 128 + ($status & 127) : $status >> 8;
    my $elapsed = time() - $t0;
    open($fh, '>>', $log) or die "run.pl: cannot append to log $log: $!\n";
    printf $fh "# Accounting: time=%d threads=%d\n", $elapsed + 0.5, $num_threads || 1;
    printf $fh "# Ended (code %d) at %s, elapsed time %.1f seconds\n", $code,
        strftime('%a %b %e %H:%M:%S %Z %Y', localtime), $elapsed;
    close $fh;
    return $code;
}

my %pid2job;
my @failed;
my $running = 0;
my $reap = sub {
    my $pid = wait();
    return if $pid < 0;
    my $status = $?;
    push @failed, $pid2job{$pid} if $status != 0;
    delete $pid2job{$pid};
    $running--;
};
for my $n ($start .. $end) {
    $reap->() while $max_jobs > 0 && $running >= $max_jobs;
    my $pid = fork();
    die "run.pl: fork failed: $!\n" unless defined $pid;
    if ($pid == 0) {
        my $code = run_job($n);
        exit($code > 255 ? 255 : $code);
    }
    $pid2job{$pid} = $n;
    $running++;
}
$reap->() while $running > 0;

if (@failed) {
    @failed = sort { $a <=> $b } @failed;
    my $total = $end - $start + 1;
    my $nf = scalar @failed;
    if ($total == 1) {
        print STDERR "run.pl: job failed, log is in " . subst($logfile, $failed[0]) . "\n";
    } else {
        print STDERR "run.pl: $nf / $total jobs failed, log is in " . subst($logfile, $failed[0]) . "\n";
        print STDERR "run.pl: failed jobs: @failed\n" if $nf > 1;
    }
    exit 1;
}
exit 0;
